package dev.kiln.infra.kafka;

import dev.kiln.infra.process.EmbeddedServer;
import dev.kiln.infra.process.ServerProcess;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.List;

/**
 * A single-node Apache Kafka KRaft broker (broker + controller) in its own JVM.
 *
 * <p>The broker's jars come from the {@code kafka_2.13} dependency of this module ('provided', so they
 * never reach a user's classpath) through a classpath file written at build time. Data stays in
 * {@code dataDir}, so a restarted broker keeps its topics and committed offsets.
 */
public final class EmbeddedKafka extends EmbeddedServer {
    private static final String CLASSPATH_RESOURCE = "/dev/kiln/infra/kafka/server.classpath";
    private static final List<String> JVM_OPTIONS = List.of(
            "-Xms128m", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData",
            "-Djava.awt.headless=true");

    private EmbeddedKafka(ServerProcess process, int port) {
        super(process, port);
    }

    /** Starts a broker on free ports with its data under {@code dataDir}. */
    public static EmbeddedKafka start(Path dataDir) {
        return start(dataDir, ServerProcess.freePort(), ServerProcess.freePort());
    }

    /**
     * Starts a broker listening on {@code 127.0.0.1:port} (controller on {@code controllerPort}).
     * An existing, formatted {@code dataDir} is reused as it is.
     */
    public static EmbeddedKafka start(Path dataDir, int port, int controllerPort) {
        String classpath = ServerProcess.classpathResource(EmbeddedKafka.class, CLASSPATH_RESOURCE);
        try {
            Path dir = dataDir.toAbsolutePath();
            Files.createDirectories(dir);
            Path logs = dir.resolve("logs");
            Path config = dir.resolve("server.properties");
            Files.writeString(config, serverProperties(port, controllerPort, dir.resolve("data")), StandardCharsets.UTF_8);
            Path log4j = dir.resolve("log4j2.properties");
            Files.writeString(log4j, log4jConfig(logs.resolve("server.log")), StandardCharsets.UTF_8);

            if (!Files.exists(dir.resolve("data").resolve("meta.properties"))) {
                format(classpath, dir, config);
            }
            List<String> options = new java.util.ArrayList<>(JVM_OPTIONS);
            options.add("-Dlog4j2.configurationFile=" + log4j);
            options.add("-Dkafka.logs.dir=" + logs);
            ServerProcess p = ServerProcess.start("kafka", classpath, options, "kafka.Kafka",
                    List.of(config.toString()), dir, logs.resolve("stdout.log"));
            p.awaitPort("127.0.0.1", port, Duration.ofSeconds(60));
            return new EmbeddedKafka(p, port);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare Kafka data dir " + dataDir, e);
        }
    }

    private static void format(String classpath, Path dir, Path config) throws IOException {
        String clusterId = clusterId();
        try (ServerProcess storage = ServerProcess.start("kafka-storage-format", classpath, JVM_OPTIONS,
                "kafka.tools.StorageTool",
                List.of("format", "--cluster-id=" + clusterId, "--config", config.toString(), "--ignore-formatted"),
                dir, dir.resolve("logs").resolve("format.log"))) {
            if (!storage.awaitExit(Duration.ofSeconds(60)) || !Files.exists(dir.resolve("data").resolve("meta.properties"))) {
                throw new IllegalStateException("formatting Kafka storage failed\n" + storage.logTail());
            }
        }
    }

    /** 16 random bytes, base64url. Never starting with '-', which the tool's parser takes for an option. */
    static String clusterId() {
        SecureRandom random = new SecureRandom();
        while (true) {
            byte[] bytes = new byte[16];
            random.nextBytes(bytes);
            String id = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
            if (!id.startsWith("-")) {
                return id;
            }
        }
    }

    static String serverProperties(int port, int controllerPort, Path dataDir) {
        return String.join("\n",
                "process.roles=broker,controller",
                "node.id=1",
                "controller.quorum.voters=1@127.0.0.1:" + controllerPort,
                "listeners=PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controllerPort,
                "advertised.listeners=PLAINTEXT://127.0.0.1:" + port,
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=PLAINTEXT",
                "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                "log.dirs=" + dataDir,
                "num.partitions=1",
                "offsets.topic.replication.factor=1",
                "offsets.topic.num.partitions=4",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "share.coordinator.state.topic.replication.factor=1",
                "share.coordinator.state.topic.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
                "auto.create.topics.enable=true",
                "");
    }

    static String log4jConfig(Path logFile) {
        return String.join("\n",
                "status = warn",
                "appender.file.type = File",
                "appender.file.name = file",
                "appender.file.fileName = " + logFile,
                "appender.file.layout.type = PatternLayout",
                "appender.file.layout.pattern = %d{ISO8601} %-5p [%c{1}] %m%n",
                "rootLogger.level = warn",
                "rootLogger.appenderRef.file.ref = file",
                "logger.kafka.name = kafka",
                "logger.kafka.level = warn",
                "logger.server.name = kafka.server.KafkaRaftServer",
                "logger.server.level = info",
                "");
    }

    /** {@code 127.0.0.1:<port>}, for {@code bootstrap.servers}. */
    public String bootstrapServers() {
        return "127.0.0.1:" + port();
    }
}
