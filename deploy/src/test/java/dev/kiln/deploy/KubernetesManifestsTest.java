package dev.kiln.deploy;

import dev.kiln.model.topics.TopicSpec;
import dev.kiln.model.topics.Topics;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirements;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The kustomize base and every overlay under k8s/, rendered offline and checked against the Kubernetes
 * model and against what Kiln needs: probes, resources, GPUs, topics, credentials, scaling.
 */
class KubernetesManifestsTest {

    private static final String GPU = "nvidia.com/gpu";
    private static final String S3_SECRET = "kiln-s3-credentials";

    /** The base and every overlay directory. */
    static Stream<String> kustomizations() {
        Path overlays = Repo.root().resolve("k8s/overlays");
        try (Stream<Path> dirs = Files.list(overlays)) {
            List<String> names = new ArrayList<>(List.of("base"));
            dirs.filter(dir -> Files.isRegularFile(dir.resolve("kustomization.yaml")))
                    .map(dir -> "overlays/" + dir.getFileName()).sorted().forEach(names::add);
            assertTrue(names.containsAll(List.of("overlays/cpu", "overlays/gpu")), "cpu and gpu overlays exist: " + names);
            return names.stream();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @ParameterizedTest
    @MethodSource("kustomizations")
    void rendersOnlyResourcesThatFitTheKubernetesSchema(String kustomization) {
        RenderedManifests rendered = RenderedManifests.render(kustomization);
        List<String> problems = rendered.schemaProblems();
        assertTrue(problems.isEmpty(), String.join("\n", problems));
    }

    @ParameterizedTest
    @MethodSource("kustomizations")
    void everyServiceHasADeploymentAServiceAndADisruptionBudget(String kustomization) {
        RenderedManifests rendered = RenderedManifests.render(kustomization);
        for (String name : Repo.services()) {
            Deployment deployment = rendered.named(Deployment.class, name);
            Map<String, String> podLabels = deployment.getSpec().getTemplate().getMetadata().getLabels();
            assertTrue(podLabels.entrySet().containsAll(deployment.getSpec().getSelector().getMatchLabels().entrySet()),
                    name + ": the selector matches the pod labels");

            Service service = rendered.named(Service.class, name);
            assertTrue(podLabels.entrySet().containsAll(service.getSpec().getSelector().entrySet()),
                    name + ": the Service selects the Deployment's pods");
            ServicePort port = service.getSpec().getPorts().get(0);
            assertEquals("http", port.getTargetPort().getStrVal(), name + ": the Service targets the http port");

            PodDisruptionBudget budget = rendered.named(PodDisruptionBudget.class, name);
            assertTrue(podLabels.entrySet().containsAll(budget.getSpec().getSelector().getMatchLabels().entrySet()),
                    name + ": the PodDisruptionBudget covers the Deployment's pods");
            assertNotNull(budget.getSpec().getMaxUnavailable(), name + ": maxUnavailable lets drains proceed");
        }
        Set<String> deployed = new TreeSet<>();
        rendered.ofType(Deployment.class).forEach(deployment -> deployed.add(deployment.getMetadata().getName()));
        assertTrue(deployed.containsAll(Repo.services()), "every service is deployed: " + deployed);
    }

    @ParameterizedTest
    @MethodSource("kustomizations")
    void everyDeploymentHasHealthProbesAndResources(String kustomization) {
        RenderedManifests rendered = RenderedManifests.render(kustomization);
        for (Deployment deployment : rendered.ofType(Deployment.class)) {
            String name = deployment.getMetadata().getName();
            for (Container container : deployment.getSpec().getTemplate().getSpec().getContainers()) {
                String where = kustomization + " " + name + "/" + container.getName();
                assertNotNull(container.getReadinessProbe(), where + " readiness probe");
                assertNotNull(container.getLivenessProbe(), where + " liveness probe");
                ResourceRequirements resources = container.getResources();
                assertNotNull(resources, where + " resources");
                for (String resource : List.of("cpu", "memory")) {
                    assertNotNull(resources.getRequests().get(resource), where + " requests " + resource);
                    assertNotNull(resources.getLimits().get(resource), where + " limits " + resource);
                    assertTrue(Quantity.getAmountInBytes(resources.getRequests().get(resource))
                                    .compareTo(Quantity.getAmountInBytes(resources.getLimits().get(resource))) <= 0,
                            where + " " + resource + " request <= limit");
                }
                if (Repo.services().contains(name)) {
                    assertHealthProbe(where + " readiness", container.getReadinessProbe(), "/q/health/ready", container);
                    assertHealthProbe(where + " liveness", container.getLivenessProbe(), "/q/health/live", container);
                }
            }
        }
    }

    @Test
    void gpuOverlayGivesExactlyTheGpuServicesOneGpuOnGpuNodes() {
        RenderedManifests rendered = RenderedManifests.render("overlays/gpu");
        assertEquals(new TreeMap<>(expectedGpuLimits()), gpuLimits(rendered), "nvidia.com/gpu limits per Deployment");
        for (Deployment deployment : rendered.ofType(Deployment.class)) {
            String name = deployment.getMetadata().getName();
            PodSpec pod = deployment.getSpec().getTemplate().getSpec();
            boolean gpu = Repo.GPU_SERVICES.contains(name);
            boolean toleratesGpuTaint = pod.getTolerations() != null && pod.getTolerations().stream()
                    .anyMatch(toleration -> GPU.equals(toleration.getKey()) && "NoSchedule".equals(toleration.getEffect()));
            assertEquals(gpu, toleratesGpuTaint, name + " tolerates the GPU node taint");
            assertEquals(gpu, pod.getNodeSelector() != null && "true".equals(pod.getNodeSelector().get("nvidia.com/gpu.present")),
                    name + " selects GPU nodes");
            String image = pod.getContainers().get(0).getImage();
            assertEquals(gpu, image.endsWith("-cuda"), name + " runs the CUDA image variant: " + image);
        }
    }

    @ParameterizedTest
    @MethodSource("kustomizations")
    void onlyGpuOverlaysRequestGpus(String kustomization) {
        if (kustomization.startsWith("overlays/gpu")) {
            assertEquals(new TreeMap<>(expectedGpuLimits()), gpuLimits(RenderedManifests.render(kustomization)));
        } else {
            assertEquals(Map.of(), gpuLimits(RenderedManifests.render(kustomization)), kustomization + " must run without GPUs");
        }
    }

    @ParameterizedTest
    @MethodSource("kustomizations")
    void everyTopicOfTheContractHasAKafkaTopicOfTheClusterTheServicesUse(String kustomization) {
        RenderedManifests rendered = RenderedManifests.render(kustomization);
        Map<String, String> declared = new TreeMap<>();
        String bootstrap = config(rendered).get("KILN_KAFKA_BOOTSTRAP");
        for (RenderedManifests.Resource topic : rendered.ofKind("KafkaTopic")) {
            Map<String, Object> spec = map(topic.yaml().get("spec"));
            Map<String, Object> topicConfig = map(spec.get("config"));
            String cluster = topic.typed().getMetadata().getLabels().get("strimzi.io/cluster");
            assertEquals(cluster + "-kafka-bootstrap:9092", bootstrap,
                    topic + " belongs to the Strimzi cluster the services connect to");
            String name = spec.containsKey("topicName") ? String.valueOf(spec.get("topicName")) : topic.name();
            declared.put(name, spec.get("partitions") + ":" + topicConfig.get("cleanup.policy"));
        }
        Map<String, String> expected = new TreeMap<>();
        for (TopicSpec spec : Topics.SPECS) {
            expected.put(spec.name(), spec.partitions() + ":" + spec.cleanupPolicy());
        }
        assertEquals(expected, declared, "KafkaTopics (partitions:cleanup.policy) vs Topics.SPECS");
    }

    @ParameterizedTest
    @MethodSource("kustomizations")
    void s3CredentialsComeOnlyFromTheReferencedSecret(String kustomization) {
        RenderedManifests rendered = RenderedManifests.render(kustomization);
        assertTrue(rendered.ofType(Secret.class).isEmpty(), "no Secret (credentials) is shipped in " + kustomization);
        List<PodSpec> pods = new ArrayList<>();
        rendered.ofType(Deployment.class).forEach(deployment -> pods.add(deployment.getSpec().getTemplate().getSpec()));
        rendered.ofType(Job.class).forEach(job -> pods.add(job.getSpec().getTemplate().getSpec()));
        int credentialVariables = 0;
        for (PodSpec pod : pods) {
            for (Container container : pod.getContainers()) {
                for (EnvVar variable : Objects.requireNonNullElse(container.getEnv(), List.<EnvVar>of())) {
                    if (Set.of("KILN_S3_ACCESS_KEY", "KILN_S3_SECRET_KEY", "MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD")
                            .contains(variable.getName())) {
                        credentialVariables++;
                        assertNotNull(variable.getValueFrom(), container.getName() + " " + variable.getName() + " has no literal value");
                        assertEquals(S3_SECRET, variable.getValueFrom().getSecretKeyRef().getName(),
                                container.getName() + " " + variable.getName());
                    }
                }
            }
        }
        assertTrue(credentialVariables >= 2 * Repo.services().size(), "every service gets both S3 credentials");
        Map<String, String> config = config(rendered);
        assertFalse(config.keySet().stream().anyMatch(key -> key.contains("SECRET") || key.contains("ACCESS_KEY")),
                "the ConfigMap holds no credentials: " + config.keySet());
    }

    @Test
    void bucketInitJobRoutesEventsToTheNotificationTargetOfTheCpuOverlaysMinio() {
        RenderedManifests rendered = RenderedManifests.render("overlays/cpu");
        Deployment minio = rendered.named(Deployment.class, "minio");
        Map<String, String> env = new TreeMap<>();
        minio.getSpec().getTemplate().getSpec().getContainers().get(0).getEnv()
                .forEach(variable -> env.put(variable.getName(), variable.getValue()));
        String enablePrefix = "MINIO_NOTIFY_KAFKA_ENABLE_";
        List<String> targets = env.keySet().stream().filter(key -> key.startsWith(enablePrefix))
                .map(key -> key.substring(enablePrefix.length())).toList();
        assertEquals(1, targets.size(), "one Kafka notification target: " + targets);
        String id = targets.get(0);
        assertEquals(Topics.STORAGE_EVENTS, env.get("MINIO_NOTIFY_KAFKA_TOPIC_" + id));
        assertEquals(config(rendered).get("KILN_KAFKA_BOOTSTRAP"), env.get("MINIO_NOTIFY_KAFKA_BROKERS_" + id));
        assertNotNull(env.get("MINIO_NOTIFY_KAFKA_QUEUE_DIR_" + id), "undelivered events are queued on disk");
        assertEquals("arn:minio:sqs::" + id + ":kafka", config(rendered).get("KILN_MINIO_NOTIFY_ARN"),
                "the bucket-init Job uses the ARN of the configured target");

        Job job = rendered.ofType(Job.class).get(0);
        String scriptMap = job.getSpec().getTemplate().getSpec().getVolumes().stream()
                .filter(volume -> volume.getConfigMap() != null).findFirst().orElseThrow().getConfigMap().getName();
        ConfigMap script = rendered.named(ConfigMap.class, scriptMap);
        assertEquals(Repo.read("k8s/base/bucket-init.sh"), script.getData().get("bucket-init.sh"),
                "the Job runs the same script as docker-compose's minio-init");
    }

    @Test
    void kedaScalesLatentCacheOnLagWithinThePartitionsOfItsTopic() {
        RenderedManifests rendered = RenderedManifests.render("overlays/gpu-keda");
        List<RenderedManifests.Resource> scalers = rendered.ofKind("ScaledObject");
        assertEquals(1, scalers.size(), "one ScaledObject");
        Map<String, Object> spec = map(scalers.get(0).yaml().get("spec"));
        assertEquals("latent-cache", map(spec.get("scaleTargetRef")).get("name"));
        Deployment target = rendered.named(Deployment.class, "latent-cache");
        assertEquals(null, target.getSpec().getReplicas(), "replicas are left to the scaler, not reset by every apply");
        Map<String, Object> trigger = map(((List<?>) spec.get("triggers")).get(0));
        assertEquals("kafka", trigger.get("type"));
        Map<String, Object> metadata = map(trigger.get("metadata"));
        assertEquals(config(rendered).get("KILN_KAFKA_BOOTSTRAP"), metadata.get("bootstrapServers"));
        TopicSpec topic = Topics.byName(String.valueOf(metadata.get("topic")))
                .orElseThrow(() -> new AssertionError("the scaler watches an unknown topic " + metadata.get("topic")));
        int maxReplicas = ((Number) spec.get("maxReplicaCount")).intValue();
        assertTrue(maxReplicas >= 1 && maxReplicas <= topic.partitions(),
                "maxReplicaCount " + maxReplicas + " within the " + topic.partitions() + " partitions of " + topic.name());
    }

    private static void assertHealthProbe(String where, Probe probe, String path, Container container) {
        assertNotNull(probe.getHttpGet(), where + " is an HTTP probe");
        assertEquals(path, probe.getHttpGet().getPath(), where + " path");
        String port = probe.getHttpGet().getPort().getStrVal();
        assertTrue(container.getPorts().stream().anyMatch(p -> p.getName().equals(port) && p.getContainerPort() == 8080),
                where + " probes the container's http port (8080, the image's KILN_HTTP_PORT)");
    }

    private static Map<String, Integer> expectedGpuLimits() {
        Map<String, Integer> expected = new TreeMap<>();
        Repo.GPU_SERVICES.forEach(name -> expected.put(name, 1));
        return expected;
    }

    /** Deployment name -> nvidia.com/gpu limit, for every Deployment that has one. */
    private static Map<String, Integer> gpuLimits(RenderedManifests rendered) {
        Map<String, Integer> limits = new TreeMap<>();
        for (Deployment deployment : rendered.ofType(Deployment.class)) {
            for (Container container : deployment.getSpec().getTemplate().getSpec().getContainers()) {
                ResourceRequirements resources = container.getResources();
                if (resources != null && resources.getLimits() != null && resources.getLimits().containsKey(GPU)) {
                    limits.put(deployment.getMetadata().getName(),
                            Quantity.getAmountInBytes(resources.getLimits().get(GPU)).intValueExact());
                }
                if (resources != null && resources.getRequests() != null && resources.getRequests().containsKey(GPU)) {
                    limits.putIfAbsent(deployment.getMetadata().getName(), -1);
                }
            }
        }
        return limits;
    }

    /** The services' shared settings (the kiln-config ConfigMap, whatever hash suffix kustomize gave it). */
    private static Map<String, String> config(RenderedManifests rendered) {
        List<ConfigMap> maps = rendered.ofType(ConfigMap.class).stream()
                .filter(map -> map.getMetadata().getName().startsWith("kiln-config")).toList();
        assertEquals(1, maps.size(), rendered.source() + ": one kiln-config ConfigMap");
        return maps.get(0).getData();
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object value) {
        assertTrue(value instanceof Map<?, ?>, "expected a mapping, got " + value);
        return (Map<String, Object>) value;
    }
}
