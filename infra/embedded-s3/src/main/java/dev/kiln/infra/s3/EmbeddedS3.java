package dev.kiln.infra.s3;

import dev.kiln.infra.process.EmbeddedServer;
import dev.kiln.infra.process.ServerProcess;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * An S3-compatible server (s3proxy with its filesystem backend) in its own JVM.
 *
 * <p>Objects live as files under {@code dataDir/blobs}, so they survive a restart. s3proxy has no
 * bucket notifications: Kiln's ingestion bucket scanner stands in for them.
 */
public final class EmbeddedS3 extends EmbeddedServer {
    private static final String CLASSPATH_RESOURCE = "/dev/kiln/infra/s3/server.classpath";
    // Full tiered compilation, unlike the Kafka broker's C1-only JVM: s3proxy hashes every byte it stores (MD5
    // for the ETag, SHA-256 of signed payloads), and only C2 compiles MessageDigest to the CPU's hash
    // instructions; under C1 hashing took most of its CPU time (about half a second more to start)
    private static final List<String> JVM_OPTIONS = List.of(
            "-Xms64m", "-Xmx256m", "-XX:+UseSerialGC", "-XX:-UsePerfData", "-Djava.awt.headless=true");

    private final String accessKey;
    private final String secretKey;

    private EmbeddedS3(ServerProcess process, int port, String accessKey, String secretKey) {
        super(process, port);
        this.accessKey = accessKey;
        this.secretKey = secretKey;
    }

    /** Starts on a free port with fixed test credentials. */
    public static EmbeddedS3 start(Path dataDir) {
        return start(dataDir, ServerProcess.freePort(), "kiln-test-access", "kiln-test-secret-key");
    }

    /** Starts on {@code 127.0.0.1:port}, accepting AWS signature v2 and v4 with the given credentials. */
    public static EmbeddedS3 start(Path dataDir, int port, String accessKey, String secretKey) {
        String classpath = ServerProcess.classpathResource(EmbeddedS3.class, CLASSPATH_RESOURCE);
        try {
            Path dir = dataDir.toAbsolutePath();
            Path blobs = dir.resolve("blobs");
            Files.createDirectories(blobs);
            Path config = dir.resolve("s3proxy.properties");
            Files.writeString(config, String.join("\n",
                    "s3proxy.endpoint=http://127.0.0.1:" + port,
                    "s3proxy.authorization=aws-v2-or-v4",
                    "s3proxy.identity=" + accessKey,
                    "s3proxy.credential=" + secretKey,
                    "jclouds.provider=filesystem",
                    "jclouds.identity=unused",
                    "jclouds.credential=unused",
                    "jclouds.filesystem.basedir=" + blobs,
                    ""), StandardCharsets.UTF_8);
            Path logback = dir.resolve("logback.xml");
            Files.writeString(logback, "<configuration><appender name=\"F\" class=\"ch.qos.logback.core.FileAppender\">"
                    + "<file>" + dir.resolve("logs").resolve("s3proxy.log") + "</file><encoder><pattern>%d %-5level %logger{20} %msg%n</pattern></encoder>"
                    + "</appender><root level=\"WARN\"><appender-ref ref=\"F\"/></root></configuration>\n", StandardCharsets.UTF_8);
            // the config file holds the secret: keep it private to this user
            restrictPermissions(config);
            List<String> options = new ArrayList<>(JVM_OPTIONS);
            options.add("-Dlogback.configurationFile=" + logback);
            ServerProcess p = ServerProcess.start("s3proxy", classpath, options, "org.gaul.s3proxy.Main",
                    List.of("--properties", config.toString()), dir, dir.resolve("logs").resolve("stdout.log"));
            p.awaitPort("127.0.0.1", port, Duration.ofSeconds(60));
            return new EmbeddedS3(p, port, accessKey, secretKey);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare S3 data dir " + dataDir, e);
        }
    }

    private static void restrictPermissions(Path file) {
        try {
            Files.setPosixFilePermissions(file, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        } catch (UnsupportedOperationException | IOException ignored) {
            // not a POSIX file system: nothing more to do
        }
    }

    /** {@code http://127.0.0.1:<port>}. */
    public String endpoint() {
        return "http://127.0.0.1:" + port();
    }

    public String accessKey() {
        return accessKey;
    }

    public String secretKey() {
        return secretKey;
    }
}
