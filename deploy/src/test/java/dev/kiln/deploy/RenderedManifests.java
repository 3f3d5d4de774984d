package dev.kiln.deploy;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import org.yaml.snakeyaml.Yaml;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The resources a kustomization renders ({@code kubectl kustomize}, offline), each parsed into fabric8's
 * Kubernetes model and checked for fields the Kubernetes schema does not have.
 */
final class RenderedManifests {

    /** One rendered resource: fabric8's typed object and the plain YAML tree. */
    record Resource(HasMetadata typed, Map<String, Object> yaml) {
        String kind() {
            return typed.getKind();
        }

        String name() {
            return typed.getMetadata().getName();
        }

        @Override
        public String toString() {
            return kind() + "/" + name();
        }
    }

    /**
     * Custom resources the manifests use, with the spec fields their CRDs define (Strimzi
     * kafka.strimzi.io/v1beta2, KEDA keda.sh/v1alpha1). fabric8 has no model for them, so their top-level
     * spec is checked against these lists and the tests check the fields they rely on.
     */
    private static final Map<String, Set<String>> CUSTOM_RESOURCE_SPEC_FIELDS = Map.of(
            "kafka.strimzi.io/v1beta2/KafkaTopic", Set.of("topicName", "partitions", "replicas", "config"),
            "kafka.strimzi.io/v1beta2/KafkaNodePool", Set.of("replicas", "roles", "storage", "resources", "jvmOptions", "template"),
            "kafka.strimzi.io/v1beta2/Kafka", Set.of("kafka", "zookeeper", "entityOperator", "clusterCa", "clientsCa",
                    "cruiseControl", "kafkaExporter", "maintenanceTimeWindows"),
            "keda.sh/v1alpha1/ScaledObject", Set.of("scaleTargetRef", "pollingInterval", "cooldownPeriod",
                    "initialCooldownPeriod", "idleReplicaCount", "minReplicaCount", "maxReplicaCount", "fallback",
                    "advanced", "triggers"));

    private static final Set<String> CUSTOM_RESOURCE_TOP_LEVEL = Set.of("apiVersion", "kind", "metadata", "spec");

    private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();
    private static final Map<String, RenderedManifests> RENDERED = new ConcurrentHashMap<>();

    private final String source;
    private final List<Resource> resources;

    private RenderedManifests(String source, List<Resource> resources) {
        this.source = source;
        this.resources = resources;
    }

    /** Renders {@code k8s/<kustomization>} with kubectl's built-in kustomize (once per test run: it is deterministic). */
    static RenderedManifests render(String kustomization) {
        return RENDERED.computeIfAbsent(kustomization, RenderedManifests::renderNow);
    }

    private static RenderedManifests renderNow(String kustomization) {
        Path dir = Repo.root().resolve("k8s").resolve(kustomization);
        String yaml = ExternalTool.kubectl().run(Repo.root(), List.of("kustomize", dir.toString()))
                .requireSuccess("kubectl kustomize " + dir).stdout();
        return parse("k8s/" + kustomization, yaml);
    }

    static RenderedManifests parse(String source, String multiDocumentYaml) {
        List<Resource> resources = new ArrayList<>();
        for (String document : multiDocumentYaml.split("(?m)^---\\s*$")) {
            if (document.isBlank()) {
                continue;
            }
            Object typed;
            try {
                typed = SERIALIZATION.unmarshal(document);
            } catch (RuntimeException e) {
                throw new AssertionError(source + ": a resource does not fit the Kubernetes model: " + e.getMessage()
                        + "\n" + document, e);
            }
            if (!(typed instanceof HasMetadata resource)) {
                throw new AssertionError(source + ": not a Kubernetes resource:\n" + document);
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> tree = (Map<String, Object>) new Yaml().load(document);
            resources.add(new Resource(resource, tree));
        }
        if (resources.isEmpty()) {
            throw new AssertionError(source + " rendered no resources");
        }
        return new RenderedManifests(source, resources);
    }

    String source() {
        return source;
    }

    List<Resource> all() {
        return resources;
    }

    <T extends HasMetadata> List<T> ofType(Class<T> type) {
        return resources.stream().map(Resource::typed).filter(type::isInstance).map(type::cast).toList();
    }

    List<Resource> ofKind(String kind) {
        return resources.stream().filter(resource -> resource.kind().equals(kind)).toList();
    }

    <T extends HasMetadata> T named(Class<T> type, String name) {
        return ofType(type).stream().filter(resource -> resource.getMetadata().getName().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError(source + " has no " + type.getSimpleName() + " " + name));
    }

    /**
     * Everything in the rendered resources that the Kubernetes schema does not know: unknown fields of
     * built-in kinds (fabric8 keeps them in {@code additionalProperties}), custom resources of an unexpected
     * kind or version, and unknown top-level or spec fields of the expected ones.
     */
    List<String> schemaProblems() {
        List<String> problems = new ArrayList<>();
        for (Resource resource : resources) {
            String where = source + " " + resource;
            if (resource.typed() instanceof GenericKubernetesResource generic) {
                checkCustomResource(where, generic, resource.yaml(), problems);
            } else {
                collectUnknownFields(resource.typed(), where, problems);
            }
        }
        return problems;
    }

    private static void checkCustomResource(String where, GenericKubernetesResource resource, Map<String, Object> yaml,
                                            List<String> problems) {
        String type = resource.getApiVersion() + "/" + resource.getKind();
        Set<String> specFields = CUSTOM_RESOURCE_SPEC_FIELDS.get(type);
        if (specFields == null) {
            problems.add(where + ": unknown kind " + type + " (not in the Kubernetes model nor an expected custom resource)");
            return;
        }
        collectUnknownFields(resource.getMetadata(), where + ".metadata", problems);
        for (String key : yaml.keySet()) {
            if (!CUSTOM_RESOURCE_TOP_LEVEL.contains(key)) {
                problems.add(where + ": unknown field " + key);
            }
        }
        if (yaml.get("spec") instanceof Map<?, ?> spec) {
            for (Object key : spec.keySet()) {
                if (!specFields.contains(String.valueOf(key))) {
                    problems.add(where + ".spec: unknown field " + key);
                }
            }
        } else {
            problems.add(where + ": no spec");
        }
    }

    /** Walks fabric8 model objects field by field; any non-empty additionalProperties is an unknown field. */
    private static void collectUnknownFields(Object node, String path, List<String> problems) {
        if (node == null) {
            return;
        }
        if (node instanceof Map<?, ?> map) {
            map.forEach((key, value) -> collectUnknownFields(value, path + "." + key, problems));
            return;
        }
        if (node instanceof Collection<?> items) {
            int index = 0;
            for (Object item : items) {
                collectUnknownFields(item, path + "[" + index++ + "]", problems);
            }
            return;
        }
        if (!node.getClass().getName().startsWith("io.fabric8.kubernetes.api.model")) {
            return;
        }
        for (Class<?> type = node.getClass(); type != Object.class; type = type.getSuperclass()) {
            for (Field field : type.getDeclaredFields()) {
                if (Modifier.isStatic(field.getModifiers())) {
                    continue;
                }
                Object value = read(field, node);
                if (field.getName().equals("additionalProperties")) {
                    if (value instanceof Map<?, ?> extra && !extra.isEmpty()) {
                        problems.add(path + ": unknown field(s) " + extra.keySet());
                    }
                } else {
                    collectUnknownFields(value, path + "." + field.getName(), problems);
                }
            }
        }
    }

    private static Object read(Field field, Object owner) {
        try {
            field.setAccessible(true);
            return field.get(owner);
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new AssertionError("cannot read " + field + ": " + e.getMessage(), e);
        }
    }
}
