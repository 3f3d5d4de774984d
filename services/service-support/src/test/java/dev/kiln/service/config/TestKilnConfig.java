package dev.kiln.service.config;

import java.time.Duration;
import java.util.Optional;

/** A {@link KilnConfig} built in code, for tests that construct beans without Quarkus. */
public record TestKilnConfig(String bucket, KilnConfig.S3 s3) implements KilnConfig {

    public static TestKilnConfig of(String endpoint, String accessKey, String secretKey, String bucket) {
        return new TestKilnConfig(bucket, new S3Settings(endpoint, accessKey, secretKey, 3, Duration.ofMillis(20)));
    }

    /** The same settings with another retry policy. */
    public TestKilnConfig withRetries(int maxAttempts, Duration backoff) {
        S3Settings s = (S3Settings) s3;
        return new TestKilnConfig(bucket, new S3Settings(s.endpoint(), s.access, s.secret, maxAttempts, backoff));
    }

    record S3Settings(String endpoint, String access, String secret, int maxAttempts, Duration retryBackoff)
            implements KilnConfig.S3 {
        @Override
        public Optional<String> accessKey() {
            return Optional.ofNullable(access);
        }

        @Override
        public Optional<String> secretKey() {
            return Optional.ofNullable(secret);
        }

        @Override
        public String region() {
            return "us-east-1";
        }

        @Override
        public boolean createBucket() {
            return true;
        }

        @Override
        public long partSize() {
            return 16L * 1024 * 1024;
        }
    }
}
