package dev.kiln.cli.job;

import dev.kiln.cli.stack.Credentials;
import io.minio.MinioClient;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import picocli.CommandLine.Option;

/**
 * Where the Kiln stack is (picocli mixin shared by {@code submit} and {@code watch}): each option defaults to
 * the service environment variable, else to the local stack of {@code kiln up} (ARCHITECTURE §5). S3
 * credentials never come from the command line (they would show in the process list): from
 * {@code KILN_S3_ACCESS_KEY} / {@code KILN_S3_SECRET_KEY}, else from the file {@code kiln up} writes.
 */
public final class ConnectionOptions {

    @Option(names = "--kafka", paramLabel = "HOST:PORT", defaultValue = "${env:KILN_KAFKA_BOOTSTRAP:-localhost:9092}",
            description = "Kafka bootstrap servers (env KILN_KAFKA_BOOTSTRAP; default: ${DEFAULT-VALUE}).")
    String kafkaBootstrap;

    @Option(names = "--s3-endpoint", paramLabel = "URL", defaultValue = "${env:KILN_S3_ENDPOINT:-http://localhost:9000}",
            description = "S3 endpoint (env KILN_S3_ENDPOINT; default: ${DEFAULT-VALUE}).")
    String s3Endpoint;

    @Option(names = "--bucket", paramLabel = "NAME", defaultValue = "${env:KILN_BUCKET:-kiln}",
            description = "Kiln's bucket (env KILN_BUCKET; default: ${DEFAULT-VALUE}).")
    String bucket;

    @Option(names = "--data-dir", paramLabel = "DIR", defaultValue = "${sys:kiln.home:-.}/.kiln",
            description = "Where 'kiln up' keeps credentials.properties, read when KILN_S3_ACCESS_KEY and "
                    + "KILN_S3_SECRET_KEY are not set (default: ${DEFAULT-VALUE}).")
    Path dataDir;

    /** Options for a known stack (the one {@code kiln demo} started), as the command-line options would give them. */
    public static ConnectionOptions of(String kafkaBootstrap, String s3Endpoint, String bucket, Path dataDir) {
        ConnectionOptions options = new ConnectionOptions();
        options.kafkaBootstrap = kafkaBootstrap;
        options.s3Endpoint = s3Endpoint;
        options.bucket = bucket;
        options.dataDir = dataDir;
        return options;
    }

    /** Kafka bootstrap servers. */
    public String kafkaBootstrap() {
        return kafkaBootstrap;
    }

    /** The bucket holding jobs, datasets and outputs. */
    public String bucket() {
        return bucket;
    }

    /** The S3 endpoint URL. */
    public String s3Endpoint() {
        return s3Endpoint;
    }

    /**
     * An S3 client for {@link #s3Endpoint()}.
     *
     * @throws IllegalStateException naming the variables and file to set when no credentials are found
     */
    public MinioClient s3Client() {
        Path file = dataDir.resolve("credentials.properties");
        Credentials credentials = Credentials.find(dataDir).orElseThrow(() -> new IllegalStateException(
                "no S3 credentials: set KILN_S3_ACCESS_KEY and KILN_S3_SECRET_KEY, or run './kiln up' (it writes "
                        + file + ")"));
        if (isBlank(credentials.accessKey()) || isBlank(credentials.secretKey())) {
            throw new IllegalStateException(file + " lacks 'access-key' or 'secret-key'");
        }
        // s3proxy and MinIO accept any region; naming one saves a bucket-location request per client
        return MinioClient.builder().endpoint(s3Endpoint).region("us-east-1")
                .credentials(credentials.accessKey(), credentials.secretKey()).build();
    }

    /**
     * Settings of a consumer that reads by assignment: no group, no commits, no topic auto-creation (a
     * watcher must not create a one-partition progress topic by asking for it).
     */
    public Map<String, Object> consumerConfig(String clientId) {
        Map<String, Object> config = new HashMap<>();
        config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafkaBootstrap);
        config.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        config.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
        config.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 15_000);
        config.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        config.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        // ingestion publishes in Kafka transactions: see its events once, and only when committed
        config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        return config;
    }

    private static boolean isBlank(String s) {
        return s == null || s.isBlank();
    }
}
