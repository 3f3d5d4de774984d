package dev.kiln.service.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import java.time.Duration;
import java.util.Optional;

/**
 * Settings every Kiln service shares, under the {@code kiln.} prefix.
 *
 * <p>Each service's {@code application.properties} maps them from the environment ({@code KILN_S3_ENDPOINT},
 * {@code KILN_S3_ACCESS_KEY}, {@code KILN_S3_SECRET_KEY}, {@code KILN_BUCKET}). Credentials have no default:
 * they come only from configuration.
 */
@ConfigMapping(prefix = "kiln")
public interface KilnConfig {

    /** The one bucket that holds datasets, jobs, models, caches and outputs. */
    @WithDefault("kiln")
    String bucket();

    /** The S3-compatible store. */
    S3 s3();

    /** Connection and retry settings for the S3-compatible store. */
    interface S3 {
        @WithDefault("http://localhost:9000")
        String endpoint();

        Optional<String> accessKey();

        Optional<String> secretKey();

        @WithDefault("us-east-1")
        String region();

        /** Create the bucket on start-up when it does not exist. */
        @WithDefault("true")
        boolean createBucket();

        /** Attempts per operation, the first included, on transient failures. */
        @WithDefault("4")
        int maxAttempts();

        /** Delay before the first retry; doubled for each further one. */
        @WithDefault("200ms")
        Duration retryBackoff();

        /** Part size for multipart uploads of streams whose size is unknown. */
        @WithDefault("16777216")
        long partSize();
    }
}
