package dev.kiln.deploy;

import dev.kiln.model.topics.Topics;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * docker-compose.yml and its GPU override, checked by docker-compose itself ({@code config -q}, offline) and
 * then through the configuration it resolves: the MinIO -> Kafka notification path, topics, images, GPUs.
 */
class DockerComposeTest {

    private static final List<String> BASE = List.of("-f", "docker-compose.yml");
    private static final List<String> BASE_AND_GPU = List.of("-f", "docker-compose.yml", "-f", "docker-compose.gpu.yml");

    private static final Map<List<String>, Map<String, Map<String, Object>>> RESOLVED = new ConcurrentHashMap<>();

    private static final Consumer<Map<String, String>> WITH_CREDENTIALS = env -> {
        env.put("KILN_S3_ACCESS_KEY", "compose-check");
        env.put("KILN_S3_SECRET_KEY", "compose-check-secret");
    };

    @Test
    void baseFilePassesDockerComposeValidation() {
        compose(BASE, List.of("config", "-q"), WITH_CREDENTIALS).requireSuccess("docker-compose config -q");
    }

    @Test
    void gpuOverridePassesDockerComposeValidation() {
        compose(BASE_AND_GPU, List.of("config", "-q"), WITH_CREDENTIALS)
                .requireSuccess("docker-compose -f docker-compose.yml -f docker-compose.gpu.yml config -q");
    }

    @Test
    void refusesToRunWithoutS3Credentials() {
        ExternalTool.Result result = compose(BASE, List.of("config", "-q"), env -> {
            env.remove("KILN_S3_ACCESS_KEY");
            env.remove("KILN_S3_SECRET_KEY");
        });
        assertNotEquals(0, result.exitCode(), "compose must not fall back to built-in credentials");
        assertTrue(result.stderr().contains("KILN_S3_ACCESS_KEY") || result.stderr().contains("KILN_S3_SECRET_KEY"),
                "the error names the missing variable: " + result.stderr());
    }

    @Test
    void everyServiceIsBuiltFromTheDockerfileOnItsCpuTarget() {
        Map<String, Map<String, Object>> services = resolvedServices(BASE);
        for (String service : Repo.services()) {
            Map<String, Object> definition = services.get(service);
            assertTrue(definition != null, "docker-compose.yml has no service " + service);
            Map<String, Object> build = map(definition.get("build"), service + ".build");
            assertEquals("docker/Dockerfile", build.get("dockerfile"), service + ".build.dockerfile");
            assertEquals(Repo.root().toString(), build.get("context"), service + ".build.context is the repository root");
            assertEquals("cpu", build.get("target"), service + ".build.target");
            assertEquals(service, map(build.get("args"), service + ".build.args").get("SERVICE"), service + " SERVICE arg");
            assertTrue(String.valueOf(definition.get("image")).endsWith("/" + service + ":dev"), service + ".image");
            assertTrue(definition.containsKey("healthcheck"), service + " has a health check");
            assertTrue(String.valueOf(map(definition.get("healthcheck"), service).get("test")).contains("/q/health"),
                    service + " health check calls /q/health");
            Map<String, Object> env = map(definition.get("environment"), service + ".environment");
            assertEquals("kafka:9092", env.get("KILN_KAFKA_BOOTSTRAP"), service);
            assertEquals("http://minio:9000", env.get("KILN_S3_ENDPOINT"), service);
            assertEquals("compose-check", env.get("KILN_S3_ACCESS_KEY"), service);
            Map<String, Object> dependsOn = map(definition.get("depends_on"), service + ".depends_on");
            for (String init : List.of("kafka-init", "minio-init")) {
                assertEquals("service_completed_successfully", map(dependsOn.get(init), service + " -> " + init).get("condition"),
                        service + " starts after " + init);
            }
        }
        assertEquals("false", map(services.get("ingestion").get("environment"), "ingestion").get("KILN_SCANNER_ENABLED"),
                "MinIO notifies under compose, so the bucket scanner is off");
    }

    @Test
    void gpuOverrideGivesExactlyTheGpuServicesACudaImageAndAnNvidiaDevice() {
        Map<String, Map<String, Object>> services = resolvedServices(BASE_AND_GPU);
        Set<String> withDevices = new TreeSet<>();
        Set<String> cudaTargets = new TreeSet<>();
        services.forEach((name, definition) -> {
            if (definition.get("build") instanceof Map<?, ?> build && "cuda".equals(build.get("target"))) {
                cudaTargets.add(name);
                assertTrue(String.valueOf(definition.get("image")).endsWith("-cuda"), name + " image tag marks the CUDA variant");
            }
            if (!nvidiaDevices(definition).isEmpty()) {
                withDevices.add(name);
            }
        });
        assertEquals(new TreeSet<>(Repo.GPU_SERVICES), withDevices, "services reserving an NVIDIA GPU");
        assertEquals(new TreeSet<>(Repo.GPU_SERVICES), cudaTargets, "services built from the cuda target");
        for (String service : Repo.GPU_SERVICES) {
            Map<String, Object> device = nvidiaDevices(services.get(service)).get(0);
            assertTrue(String.valueOf(device.get("capabilities")).contains("gpu"), service + " device capabilities");
            assertEquals(service, map(map(services.get(service).get("build"), service).get("args"), service).get("SERVICE"),
                    service + " keeps its SERVICE build arg under the override");
        }
        Map<String, Map<String, Object>> base = resolvedServices(BASE);
        base.forEach((name, definition) -> assertTrue(nvidiaDevices(definition).isEmpty(),
                name + " reserves a GPU in the base file"));
    }

    @Test
    void kafkaInitCreatesEveryTopicOfTheContract() {
        Map<String, Object> env = map(resolvedServices(BASE).get("kafka-init").get("environment"), "kafka-init.environment");
        Set<String> declared = new TreeSet<>(List.of(String.valueOf(env.get("KILN_TOPICS")).trim().split("\\s+")));
        Set<String> expected = Topics.SPECS.stream()
                .map(spec -> spec.name() + ":" + spec.partitions() + ":" + spec.cleanupPolicy())
                .collect(Collectors.toCollection(TreeSet::new));
        assertEquals(expected, declared, "kafka-init KILN_TOPICS (name:partitions:cleanup.policy) vs Topics.SPECS");
        assertEquals("false", String.valueOf(map(resolvedServices(BASE).get("kafka").get("environment"), "kafka")
                .get("KAFKA_AUTO_CREATE_TOPICS_ENABLE")), "only kafka-init creates topics");
        assertTrue(Repo.read("docker/create-topics.sh").contains("--if-not-exists"), "topic creation can run again");
    }

    @Test
    void minioPublishesBucketEventsToTheStorageTopicWithADurableQueue() {
        Map<String, Map<String, Object>> services = resolvedServices(BASE);
        Map<String, Object> minio = services.get("minio");
        Map<String, Object> env = map(minio.get("environment"), "minio.environment");
        String enablePrefix = "MINIO_NOTIFY_KAFKA_ENABLE_";
        List<String> targets = env.keySet().stream().filter(key -> key.startsWith(enablePrefix))
                .map(key -> key.substring(enablePrefix.length())).toList();
        assertEquals(1, targets.size(), "one Kafka notification target: " + targets);
        String id = targets.get(0);
        assertEquals("on", env.get(enablePrefix + id));
        assertEquals("kafka:9092", env.get("MINIO_NOTIFY_KAFKA_BROKERS_" + id));
        assertEquals(Topics.STORAGE_EVENTS, env.get("MINIO_NOTIFY_KAFKA_TOPIC_" + id));
        String queueDir = String.valueOf(env.get("MINIO_NOTIFY_KAFKA_QUEUE_DIR_" + id));
        assertTrue(volumeTargets(minio).contains(queueDir), "the notification queue dir " + queueDir + " is a volume");
        assertTrue(Integer.parseInt(String.valueOf(env.get("MINIO_NOTIFY_KAFKA_QUEUE_LIMIT_" + id))) > 0, "queue limit");
        assertEquals("compose-check", env.get("MINIO_ROOT_USER"), "MinIO's credentials are the services' credentials");

        Map<String, Object> init = services.get("minio-init");
        Map<String, Object> initEnv = map(init.get("environment"), "minio-init.environment");
        assertEquals("arn:minio:sqs::" + id + ":kafka", initEnv.get("KILN_MINIO_NOTIFY_ARN"),
                "minio-init routes events to the configured target");
        assertEquals("service_healthy", map(map(init.get("depends_on"), "minio-init").get("minio"), "minio").get("condition"));
        assertEquals("service_completed_successfully",
                map(map(minio.get("depends_on"), "minio").get("kafka-init"), "minio").get("condition"),
                "MinIO starts publishing only once the storage topic exists");

        String script = Repo.read("k8s/base/bucket-init.sh");
        assertTrue(script.contains("mc mb --ignore-existing"), "bucket creation is idempotent");
        assertTrue(script.contains("--event put,delete"), "put and delete events are routed");
        assertTrue(script.contains("for prefix in datasets/ jobs/"), "for datasets/ and jobs/");
        assertTrue(script.contains("mc event add --ignore-existing"), "event rules are idempotent");
    }

    private static List<Map<String, Object>> nvidiaDevices(Map<String, Object> definition) {
        List<Map<String, Object>> found = new ArrayList<>();
        if (definition.get("deploy") instanceof Map<?, ?> deploy
                && deploy.get("resources") instanceof Map<?, ?> resources
                && resources.get("reservations") instanceof Map<?, ?> reservations
                && reservations.get("devices") instanceof List<?> devices) {
            for (Object device : devices) {
                Map<String, Object> entry = map(device, "device");
                if ("nvidia".equals(entry.get("driver"))) {
                    found.add(entry);
                }
            }
        }
        return found;
    }

    private static Set<String> volumeTargets(Map<String, Object> definition) {
        Set<String> targets = new TreeSet<>();
        if (definition.get("volumes") instanceof List<?> volumes) {
            for (Object volume : volumes) {
                if (volume instanceof Map<?, ?> mount) {
                    targets.add(String.valueOf(mount.get("target")));
                } else {
                    String[] parts = String.valueOf(volume).split(":");
                    targets.add(parts.length > 1 ? parts[1] : parts[0]);
                }
            }
        }
        return targets;
    }

    /** The services as docker-compose resolves them (anchors merged, variables substituted, files overlaid). */
    private static Map<String, Map<String, Object>> resolvedServices(List<String> files) {
        return RESOLVED.computeIfAbsent(files, DockerComposeTest::resolve);
    }

    private static Map<String, Map<String, Object>> resolve(List<String> files) {
        String yaml = compose(files, List.of("config"), WITH_CREDENTIALS).requireSuccess("docker-compose config").stdout();
        Map<String, Object> document = map(new Yaml().load(yaml), "docker-compose config output");
        Map<String, Map<String, Object>> services = new java.util.TreeMap<>();
        map(document.get("services"), "services").forEach((name, definition) -> services.put(name, map(definition, name)));
        return services;
    }

    private static ExternalTool.Result compose(List<String> files, List<String> command,
                                               Consumer<Map<String, String>> environment) {
        List<String> arguments = new ArrayList<>(files);
        arguments.addAll(command);
        return ExternalTool.dockerCompose().run(Repo.root(), arguments, env -> {
            // the project's settings, not whatever the developer's shell exports
            env.keySet().removeIf(key -> key.startsWith("KILN_") || key.startsWith("COMPOSE_"));
            environment.accept(env);
        });
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object value, String what) {
        if (!(value instanceof Map<?, ?>)) {
            fail(what + " is not a mapping: " + value);
        }
        return (Map<String, Object>) value;
    }
}
