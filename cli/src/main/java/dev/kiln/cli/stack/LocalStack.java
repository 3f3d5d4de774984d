package dev.kiln.cli.stack;

import dev.kiln.infra.kafka.EmbeddedKafka;
import dev.kiln.infra.process.ServerProcess;
import dev.kiln.infra.s3.EmbeddedS3;
import dev.kiln.model.topics.TopicSpec;
import dev.kiln.model.topics.Topics;
import io.minio.BucketExistsArgs;
import io.minio.MakeBucketArgs;
import io.minio.MinioClient;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.TopicConfig;

import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The local Kiln stack: embedded Kafka and S3, the bucket, every {@code kiln.*} topic and the five
 * services as child processes. Everything it starts stops with it, and dies with it if it is killed.
 */
public final class LocalStack implements AutoCloseable {

    /**
     * How the stack is started; defaults match ARCHITECTURE §5. {@code serviceEnv} adds environment variables to
     * every service (settings such as {@code KILN_TRAINER_STATE_EVERY_STEPS}).
     */
    public record Settings(Path repoRoot, Path dataDir, int kafkaPort, int kafkaControllerPort, int s3Port,
                           String bucket, boolean infraOnly, boolean scanner, Duration readyTimeout,
                           int servicePortOffset, Map<String, String> serviceEnv) {

        public Settings {
            serviceEnv = Map.copyOf(serviceEnv);
        }

        /** The settings of {@code kiln up}: no extra service environment. */
        public Settings(Path repoRoot, Path dataDir, int kafkaPort, int kafkaControllerPort, int s3Port, String bucket,
                        boolean infraOnly, boolean scanner, Duration readyTimeout, int servicePortOffset) {
            this(repoRoot, dataDir, kafkaPort, kafkaControllerPort, s3Port, bucket, infraOnly, scanner, readyTimeout,
                    servicePortOffset, Map.of());
        }
    }

    private final Settings settings;
    private final PrintStream out;
    private final List<ServerProcess> services = new ArrayList<>();
    private final Map<ServerProcess, ServiceDef> serviceDefs = new LinkedHashMap<>();
    private EmbeddedKafka kafka;
    private EmbeddedS3 s3;
    private Credentials credentials;

    public LocalStack(Settings settings, PrintStream out) {
        this.settings = settings;
        this.out = out;
    }

    /** Starts everything and returns once every service reports ready; throws (and stops all) otherwise. */
    public void start() {
        try {
            checkPortsFree();
            credentials = Credentials.resolve(settings.dataDir());
            out.printf("Starting Kafka on localhost:%d ...%n", settings.kafkaPort());
            kafka = EmbeddedKafka.start(settings.dataDir().resolve("kafka"), settings.kafkaPort(),
                    settings.kafkaControllerPort());
            out.printf("Starting S3 on http://localhost:%d ...%n", settings.s3Port());
            s3 = EmbeddedS3.start(settings.dataDir().resolve("s3"), settings.s3Port(),
                    credentials.accessKey(), credentials.secretKey());
            ensureBucket();
            ensureTopics();
            if (!settings.infraOnly()) {
                startServices();
                awaitReady();
            }
            state().write(settings.dataDir());
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    private void checkPortsFree() {
        List<Integer> ports = new ArrayList<>(List.of(settings.kafkaPort(), settings.kafkaControllerPort(), settings.s3Port()));
        if (!settings.infraOnly()) {
            ServiceDef.ALL.forEach(s -> ports.add(port(s)));
        }
        for (int port : ports) {
            if (ServerProcess.portInUse(port)) {
                throw new IllegalStateException("port " + port + " is already in use: is another 'kiln up' running?"
                        + " ('./kiln status' shows it)");
            }
        }
    }

    private void ensureBucket() {
        MinioClient client = MinioClient.builder().endpoint(s3.endpoint())
                .credentials(credentials.accessKey(), credentials.secretKey()).region("us-east-1").build();
        try {
            if (!client.bucketExists(BucketExistsArgs.builder().bucket(settings.bucket()).build())) {
                client.makeBucket(MakeBucketArgs.builder().bucket(settings.bucket()).build());
            }
        } catch (Exception e) {
            throw new IllegalStateException("cannot create bucket '" + settings.bucket() + "' at " + s3.endpoint()
                    + ": " + e.getMessage(), e);
        }
    }

    private void ensureTopics() {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            Set<String> existing = admin.listTopics().names().get(30, TimeUnit.SECONDS);
            List<NewTopic> missing = new ArrayList<>();
            for (TopicSpec spec : Topics.SPECS) {
                if (!existing.contains(spec.name())) {
                    NewTopic topic = new NewTopic(spec.name(), spec.partitions(), (short) 1);
                    if (spec.compacted()) {
                        topic.configs(Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT));
                    }
                    missing.add(topic);
                }
            }
            if (!missing.isEmpty()) {
                admin.createTopics(missing).all().get(30, TimeUnit.SECONDS);
            }
        } catch (Exception e) {
            throw new IllegalStateException("cannot create Kiln topics on " + kafka.bootstrapServers() + ": " + e.getMessage(), e);
        }
    }

    private void startServices() {
        for (ServiceDef def : ServiceDef.ALL) {
            Path jar = def.runJar(settings.repoRoot());
            if (!Files.exists(jar)) {
                throw new IllegalStateException(jar + " is missing: build with 'mvn install -DskipTests'"
                        + " (the ./kiln wrapper does this on first use)");
            }
        }
        for (ServiceDef def : ServiceDef.ALL) {
            ServerProcess p = startService(def);
            out.printf("Started %-12s pid %-7d %s (log %s)%n", def.name(), p.pid(), url(def), p.logFile());
        }
    }

    private ServerProcess startService(ServiceDef def) {
        Path jar = def.runJar(settings.repoRoot());
        Map<String, String> env = new HashMap<>(settings.serviceEnv());
        env.put("KILN_SCANNER_ENABLED", Boolean.toString(settings.scanner()));
        ServerProcess p = ServiceLauncher.start(def.name(), jar,
                new ServiceLauncher.Wiring(kafka.bootstrapServers(), s3.endpoint(), credentials.accessKey(),
                        credentials.secretKey(), settings.bucket()), port(def), env,
                List.of("-Xmx" + def.maxHeap(), "-XX:+UseSerialGC", "-Dai.djl.offline=true",
                        "-DENGINE_CACHE_DIR=" + settings.dataDir().resolve("djl-cache")),
                settings.dataDir().resolve("services").resolve(def.name()));
        services.add(p);
        serviceDefs.put(p, def);
        return p;
    }

    /**
     * Kills one service at once (SIGKILL: no shutdown hooks, no graceful stop), as a crashed or OOM-killed process
     * ends; {@link #restart} starts it again.
     */
    public synchronized void kill(String service) {
        ServerProcess p = process(service);
        ProcessHandle.of(p.pid()).ifPresent(ProcessHandle::destroyForcibly);
        p.awaitExit(Duration.ofSeconds(30));
        p.close();
        services.remove(p);
        serviceDefs.remove(p);
    }

    /** Starts a service that {@link #kill} stopped, and waits until it is ready. */
    public synchronized void restart(String service) {
        ServiceDef def = ServiceDef.ALL.stream().filter(d -> d.name().equals(service)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no service " + service));
        if (serviceDefs.containsValue(def)) {
            throw new IllegalStateException(service + " is running");
        }
        awaitReady(List.of(startService(def)));
    }

    /** The pid of a running service. */
    public synchronized long pid(String service) {
        return process(service).pid();
    }

    private ServerProcess process(String service) {
        return serviceDefs.entrySet().stream().filter(e -> e.getValue().name().equals(service)).map(Map.Entry::getKey)
                .findFirst().orElseThrow(() -> new IllegalArgumentException("no running service " + service));
    }

    private void awaitReady() {
        awaitReady(List.copyOf(services));
    }

    private void awaitReady(List<ServerProcess> processes) {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
        long deadline = System.nanoTime() + settings.readyTimeout().toNanos();
        for (ServerProcess p : processes) {
            ServiceDef def = serviceDefs.get(p);
            while (!isReady(http, def)) {
                if (!p.isAlive()) {
                    throw new IllegalStateException(def.name() + " exited during start-up\n" + p.logTail());
                }
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException(def.name() + " not ready within " + settings.readyTimeout()
                            + " at " + url(def) + "/q/health/ready\n" + p.logTail());
                }
                sleep(250);
            }
        }
    }

    private boolean isReady(HttpClient http, ServiceDef def) {
        return isReady(http, url(def) + "/q/health/ready");
    }

    private int port(ServiceDef def) {
        return def.httpPort() + settings.servicePortOffset();
    }

    private String url(ServiceDef def) {
        return "http://localhost:" + port(def);
    }

    static boolean isReady(HttpClient http, String healthUrl) {
        try {
            HttpResponse<Void> r = http.send(HttpRequest.newBuilder(URI.create(healthUrl))
                    .timeout(Duration.ofSeconds(2)).GET().build(), HttpResponse.BodyHandlers.discarding());
            return r.statusCode() == 200;
        } catch (Exception e) {
            return false;
        }
    }

    /** What runs now, without credentials. */
    public StackState state() {
        List<StackState.Entry> entries = new ArrayList<>();
        entries.add(new StackState.Entry("kafka", kafka.pid(), null, null));
        entries.add(new StackState.Entry("s3", s3.pid(), s3.endpoint(), null));
        for (ServerProcess p : services) {
            ServiceDef def = serviceDefs.get(p);
            entries.add(new StackState.Entry(def.name(), p.pid(), url(def), url(def) + "/q/health/ready"));
        }
        return new StackState(ProcessHandle.current().pid(), Instant.now().toString(),
                "localhost:" + kafka.port(), "http://localhost:" + s3.port(), settings.bucket(), entries);
    }

    public Credentials credentials() {
        return credentials;
    }

    /** True while every child process is alive. */
    public boolean allAlive() {
        return kafka.isAlive() && s3.isAlive() && services.stream().allMatch(ServerProcess::isAlive);
    }

    /** The children that died, by name. */
    public List<String> deadProcesses() {
        List<String> dead = new ArrayList<>();
        if (kafka != null && !kafka.isAlive()) {
            dead.add("kafka");
        }
        if (s3 != null && !s3.isAlive()) {
            dead.add("s3");
        }
        services.stream().filter(p -> !p.isAlive()).forEach(p -> dead.add(serviceDefs.get(p).name()));
        return dead;
    }

    /** Stops services first (so they can commit offsets while Kafka still runs), then S3 and Kafka. */
    @Override
    public synchronized void close() {
        services.parallelStream().forEach(ServerProcess::close);
        services.clear();
        if (s3 != null) {
            s3.close();
        }
        if (kafka != null) {
            kafka.close();
        }
        StackState.delete(settings.dataDir());
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
