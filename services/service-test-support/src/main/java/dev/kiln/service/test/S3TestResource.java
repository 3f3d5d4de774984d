package dev.kiln.service.test;

import dev.kiln.infra.s3.EmbeddedS3;
import io.minio.MinioClient;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

import java.util.Map;
import java.util.UUID;

/**
 * S3 for {@code @QuarkusTest}s: {@code KILN_S3_ENDPOINT} (+ {@code KILN_S3_ACCESS_KEY},
 * {@code KILN_S3_SECRET_KEY}) when set, else a Testcontainers MinIO when Docker answers, else an embedded
 * s3proxy in a child JVM (filesystem backend under {@code target/test-infra}).
 *
 * <p>One server per test JVM. Each start of the resource (each application boot) gets its own bucket,
 * {@code kiln-test-<random>}, handed to the app as {@code kiln.bucket} and created by it on start-up.
 */
public class S3TestResource implements QuarkusTestResourceLifecycleManager {
    static final String MINIO_IMAGE = "minio/minio:RELEASE.2025-04-22T22-12-26Z";
    private static S3Server server;
    // kept so the server lives as long as the test JVM; it stops itself when the JVM exits
    private static Object process;
    private static volatile String currentBucket;

    /** Where the test S3 server is and how to sign in. */
    public record S3Server(String endpoint, String accessKey, String secretKey) {
        /** A MinIO client on this server, for tests that put and read objects directly. */
        public MinioClient client() {
            return MinioClient.builder().endpoint(endpoint).credentials(accessKey, secretKey).region("us-east-1").build();
        }

        @Override
        public String toString() {
            return "S3Server[" + endpoint + "]";
        }
    }

    /** The server, starting it on first use. */
    public static synchronized S3Server server() {
        if (server == null) {
            server = findOrStart();
        }
        return server;
    }

    /** The bucket of the application currently under test. */
    public static String bucket() {
        if (currentBucket == null) {
            throw new IllegalStateException("S3TestResource has not started: annotate the test with"
                    + " @QuarkusTestResource(S3TestResource.class)");
        }
        return currentBucket;
    }

    private static S3Server findOrStart() {
        var external = TestInfrastructure.setting("KILN_S3_ENDPOINT");
        if (external.isPresent()) {
            String access = TestInfrastructure.setting("KILN_S3_ACCESS_KEY").orElseThrow(() ->
                    new IllegalStateException("KILN_S3_ENDPOINT is set but KILN_S3_ACCESS_KEY is not"));
            String secret = TestInfrastructure.setting("KILN_S3_SECRET_KEY").orElseThrow(() ->
                    new IllegalStateException("KILN_S3_ENDPOINT is set but KILN_S3_SECRET_KEY is not"));
            TestInfrastructure.chosen("S3", "external (KILN_S3_ENDPOINT)", external.get());
            return new S3Server(external.get(), access, secret);
        }
        if (TestInfrastructure.dockerAvailable()) {
            var container = new org.testcontainers.containers.MinIOContainer(MINIO_IMAGE);
            container.start();
            process = container;
            TestInfrastructure.chosen("S3", "Testcontainers " + MINIO_IMAGE, container.getS3URL());
            return new S3Server(container.getS3URL(), container.getUserName(), container.getPassword());
        }
        EmbeddedS3 embedded = EmbeddedS3.start(TestInfrastructure.dataDir("s3"));
        process = embedded;
        TestInfrastructure.chosen("S3", "embedded s3proxy (pid " + embedded.pid() + ")", embedded.endpoint());
        return new S3Server(embedded.endpoint(), embedded.accessKey(), embedded.secretKey());
    }

    @Override
    public Map<String, String> start() {
        S3Server s3 = server();
        currentBucket = "kiln-test-" + UUID.randomUUID().toString().substring(0, 8);
        return Map.of(
                "kiln.s3.endpoint", s3.endpoint(),
                "kiln.s3.access-key", s3.accessKey(),
                "kiln.s3.secret-key", s3.secretKey(),
                "kiln.s3.create-bucket", "true",
                "kiln.bucket", currentBucket);
    }

    @Override
    public void stop() {
        // the server stays up for the next test class (and the bucket for post-mortems under target/)
    }
}
