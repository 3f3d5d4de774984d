package dev.kiln.cli.job;

import dev.kiln.infra.kafka.EmbeddedKafka;
import dev.kiln.infra.process.ServerProcess;
import dev.kiln.infra.s3.EmbeddedS3;
import dev.kiln.model.events.CloudEventAttributes;
import dev.kiln.model.events.TrainingProgress;
import dev.kiln.model.json.Json;
import dev.kiln.model.topics.CloudEventSources;
import dev.kiln.model.topics.Topics;
import io.minio.MakeBucketArgs;
import io.minio.MinioClient;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import picocli.CommandLine;

/**
 * One real Kafka broker and one real S3 server (the embedded processes of {@code kiln up}) for every test
 * of this package, started on first use; the bucket and a three-partition progress topic are created here,
 * and the credentials file is written where {@code kiln up} would write it.
 */
final class JobTestStack {
    static final String BUCKET = "kiln-jobs-test";

    private static JobTestStack instance;

    final EmbeddedKafka kafka;
    final EmbeddedS3 s3;
    final Path dataDir;
    final MinioClient s3Client;
    private final KafkaProducer<String, byte[]> producer;

    private JobTestStack(Path root) throws Exception {
        dataDir = root.resolve("dot-kiln");
        Files.createDirectories(dataDir);
        // the CLI prefers these variables to the file, so the server must accept whichever it will use
        String access = System.getenv("KILN_S3_ACCESS_KEY");
        String secret = System.getenv("KILN_S3_SECRET_KEY");
        if (access == null || access.isBlank() || secret == null || secret.isBlank()) {
            access = "job-test-access";
            secret = "job-test-secret-" + System.nanoTime();
            Files.writeString(dataDir.resolve("credentials.properties"),
                    "access-key=" + access + "\nsecret-key=" + secret + "\n", StandardCharsets.UTF_8);
        }
        kafka = EmbeddedKafka.start(root.resolve("kafka"));
        s3 = EmbeddedS3.start(root.resolve("s3"), ServerProcess.freePort(), access, secret);
        s3Client = MinioClient.builder().endpoint(s3.endpoint()).region("us-east-1").credentials(access, secret).build();
        s3Client.makeBucket(MakeBucketArgs.builder().bucket(BUCKET).build());
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            admin.createTopics(List.of(new NewTopic(Topics.TRAINING_PROGRESS, 3, (short) 1))).all().get(60, TimeUnit.SECONDS);
        }
        producer = new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class,
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class));
        Runtime.getRuntime().addShutdownHook(new Thread(this::close, "stop-job-test-stack"));
    }

    static synchronized JobTestStack get() throws Exception {
        if (instance == null) {
            instance = new JobTestStack(Path.of("target", "job-test-" + System.nanoTime()).toAbsolutePath());
        }
        return instance;
    }

    /** The connection options every command gets. */
    List<String> connectionArgs() {
        return List.of("--kafka", kafka.bootstrapServers(), "--s3-endpoint", s3.endpoint(), "--bucket", BUCKET,
                "--data-dir", dataDir.toString());
    }

    /** Sends {@code event} keyed by its job, with the CloudEvent headers a service writes. */
    void publish(TrainingProgress event) {
        CloudEventAttributes ce = CloudEventAttributes.forBody(event, CloudEventSources.TRAINER, event.jobId());
        ProducerRecord<String, byte[]> record = new ProducerRecord<>(Topics.TRAINING_PROGRESS, event.jobId(),
                Json.write(event).getBytes(StandardCharsets.UTF_8));
        ce.binaryHeaderBytes().forEach((k, v) -> record.headers().add(new RecordHeader(k, v)));
        send(record);
    }

    /** Sends a record as it is: for malformed ones. */
    void publishRaw(String key, byte[] body, Map<String, String> headers) {
        ProducerRecord<String, byte[]> record = new ProducerRecord<>(Topics.TRAINING_PROGRESS, key, body);
        headers.forEach((k, v) -> record.headers().add(new RecordHeader(k, v.getBytes(StandardCharsets.UTF_8))));
        send(record);
    }

    private void send(ProducerRecord<String, byte[]> record) {
        try {
            producer.send(record).get(30, TimeUnit.SECONDS);
        } catch (InterruptedException | ExecutionException | TimeoutException e) {
            throw new IllegalStateException("cannot send to " + record.topic(), e);
        }
    }

    /** What a command run printed, and its exit status. */
    record Run(int status, String out, String err) {}

    /** Runs a command the way {@code kiln} does, with the stack's connection options appended. */
    Run execute(Object command, String... args) {
        return executeWith(command, connectionArgs(), args);
    }

    /** Runs a command with the given connection options instead of the stack's. */
    Run executeWith(Object command, List<String> connection, String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(connection);
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cmd = new CommandLine(command);
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        int status = cmd.execute(all.toArray(String[]::new));
        return new Run(status, out.toString(), err.toString());
    }

    static Path write(Path file, String text) {
        try {
            Files.createDirectories(file.getParent());
            return Files.writeString(file, text, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void close() {
        producer.close(java.time.Duration.ofSeconds(2));
        s3.close();
        kafka.close();
    }
}
