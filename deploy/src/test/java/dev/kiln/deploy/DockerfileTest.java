package dev.kiln.deploy;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * docker/Dockerfile, read as text (there is no Docker engine to build it here): one multi-stage definition
 * for every service, a non-root runtime with a health check, offline DJL, and a CUDA target whose libtorch
 * matches the DJL natives the build uses.
 */
class DockerfileTest {

    /** One build stage: its name, what it starts FROM, and its instructions (continuations joined). */
    record Stage(String name, String from, List<String[]> instructions) {
        List<String> arguments(String keyword) {
            return instructions.stream().filter(i -> i[0].equals(keyword)).map(i -> i[1]).toList();
        }
    }

    private static final Pattern ENV_PAIR = Pattern.compile("([A-Za-z_][A-Za-z0-9_]*)=(\"[^\"]*\"|\\S+)");

    private static Map<String, Stage> stages;
    private static Map<String, String> globalArgs;
    private static String lastStage;

    @BeforeAll
    static void parse() {
        stages = new LinkedHashMap<>();
        globalArgs = new LinkedHashMap<>();
        Stage current = null;
        for (String[] instruction : instructions(Repo.read("docker/Dockerfile"))) {
            if (instruction[0].equals("FROM")) {
                Matcher from = Pattern.compile("(\\S+)\\s+AS\\s+(\\S+)", Pattern.CASE_INSENSITIVE).matcher(instruction[1]);
                assertTrue(from.matches(), "every stage is named: FROM " + instruction[1]);
                current = new Stage(from.group(2), from.group(1), new ArrayList<>());
                stages.put(current.name(), current);
                lastStage = current.name();
            } else if (current == null) {
                assertEquals("ARG", instruction[0], "only ARG may precede the first FROM");
                String[] arg = instruction[1].split("=", 2);
                globalArgs.put(arg[0], arg.length > 1 ? arg[1] : "");
            } else {
                current.instructions().add(instruction);
            }
        }
    }

    @Test
    void isMultiStageWithTheMavenBuildApartFromTheRuntime() {
        assertTrue(stages.size() >= 2, "multi-stage: " + stages.keySet());
        Stage build = stage("build");
        assertTrue(build.from().contains("MAVEN_IMAGE") && globalArgs.get("MAVEN_IMAGE").startsWith("maven:"),
                "the build stage runs on a Maven image");
        for (String target : List.of("cpu", "cuda")) {
            List<String> chain = chain(target);
            assertTrue(!chain.contains("build"), target + " does not ship the build stage");
            assertTrue(globalArgs.get("RUNTIME_IMAGE").contains("jre"), "the runtime is a JRE image, not a JDK");
        }
        assertEquals("cpu", lastStage, "a build without --target gets the cpu image");
    }

    @Test
    void buildStagePackagesEveryServiceWithMaven() {
        String run = String.join(" ", stage("build").arguments("RUN"));
        assertTrue(run.contains("mvn ") && run.contains(" package"), "the build stage runs mvn package: " + run);
        Matcher modules = Pattern.compile("-pl\\s+(\\S+)").matcher(run);
        assertTrue(modules.find(), "the build names its modules with -pl");
        Set<String> built = new TreeSet<>();
        for (String module : modules.group(1).split(",")) {
            built.add(module.replaceFirst("^services/", ""));
        }
        assertEquals(new TreeSet<>(Repo.services()), built, "every service module is built");
        assertTrue(run.contains("-am"), "with the modules they depend on");
    }

    @Test
    void everyServiceIsAValidServiceBuildArg() {
        Stage app = stage("app");
        assertTrue(app.arguments("ARG").contains("SERVICE"), "the app stage takes ARG SERVICE");
        assertEquals(new TreeSet<>(Repo.services()), caseLabels(app), "services the SERVICE arg accepts");
        String copies = String.join("\n", app.arguments("COPY"));
        for (String part : List.of("lib/", "app/", "quarkus/", "*.jar")) {
            assertTrue(copies.contains("--from=build /src/services/${SERVICE}/target/quarkus-app/" + part),
                    "copies the fast-jar's " + part);
        }
        assertTrue(app.arguments("ENTRYPOINT").get(0).contains("-jar /app/quarkus-run.jar"), "runs the fast-jar");
    }

    @Test
    void bothTargetsRunAsAnUnprivilegedUserWithAHealthCheck() {
        for (String target : List.of("cpu", "cuda")) {
            String user = lastInChain(target, "USER")
                    .orElseThrow(() -> new AssertionError(target + " sets no USER (it would run as root)"));
            String uid = user.split(":")[0];
            assertTrue(uid.matches("\\d+"), target + " USER is numeric, so Kubernetes runAsNonRoot can verify it: " + user);
            assertNotEquals(0, Integer.parseInt(uid), target + " USER is not root");
            String healthCheck = lastInChain(target, "HEALTHCHECK")
                    .orElseThrow(() -> new AssertionError(target + " has no HEALTHCHECK"));
            assertTrue(healthCheck.contains("CMD") && healthCheck.contains("/q/health"), "health check: " + healthCheck);
            assertTrue(healthCheck.contains("${KILN_HTTP_PORT}"), "health check follows the configured port");
        }
    }

    @Test
    void djlStaysOfflineInTheImage() {
        Map<String, String> env = env("cpu");
        assertEquals("true", env.get("OPT_OUT_TRACKING"));
        assertEquals("true", env.get("DJL_OFFLINE"));
        assertTrue(env.get("JAVA_OPTS").contains("-Dai.djl.offline=true"), "JVM flag ai.djl.offline");
        assertEquals("8080", env.get("KILN_HTTP_PORT"), "the port compose and Kubernetes map");
        assertTrue(env.containsKey("DJL_CACHE_DIR"), "DJL unpacks natives into a known, writable directory");
    }

    @Test
    void cudaTargetSelectsTheLibtorchOfTheDjlVersionInUseForGpuServicesOnly() {
        String pom = Repo.read("pom.xml");
        String torch = property(pom, "pytorch.native.version");
        assertEquals(torch, globalArgs.get("PYTORCH_VERSION"),
                "the CUDA libtorch equals the pytorch-native version of the root pom (DJL's JNI needs an exact match)");
        assertTrue(property(pom, "pytorch.jni.version").startsWith(torch + "-"), "the JNI is built for that libtorch");
        assertTrue(globalArgs.get("PYTORCH_FLAVOR").startsWith("cu"), "a CUDA flavor");

        Map<String, String> env = env("cuda");
        assertEquals("/opt/libtorch/lib", env.get("PYTORCH_LIBRARY_PATH"));
        assertEquals("${PYTORCH_VERSION}", env.get("PYTORCH_VERSION"));
        assertEquals("${PYTORCH_FLAVOR}", env.get("PYTORCH_FLAVOR"), "DJL needs the flavor set explicitly");
        assertTrue(env.get("NVIDIA_DRIVER_CAPABILITIES").contains("compute"), "the container runtime mounts CUDA");
        assertEquals(new TreeSet<>(Repo.GPU_SERVICES), caseLabels(stage("cuda")), "services with a CUDA image");
        assertTrue(String.join("\n", stage("cuda").arguments("COPY")).contains("--from=libtorch-cuda /opt/libtorch/"),
                "the natives come from the download stage");
        assertTrue(chain("cpu").stream().noneMatch(name -> name.startsWith("libtorch")), "the cpu image has no CUDA natives");
    }

    @Test
    void buildContextLeavesOutBuildOutputsAndGitHistory() {
        Set<String> ignored = new TreeSet<>(Repo.read(".dockerignore").lines()
                .map(String::trim).filter(line -> !line.isEmpty() && !line.startsWith("#")).toList());
        assertTrue(ignored.contains("**/target/"), "target/ directories stay out: " + ignored);
        assertTrue(ignored.contains(".git/"), ".git stays out: " + ignored);
    }

    private static Stage stage(String name) {
        Stage stage = stages.get(name);
        assertTrue(stage != null, "docker/Dockerfile has no stage " + name + " (stages: " + stages.keySet() + ")");
        return stage;
    }

    /** The stage and the stages it is built FROM, nearest first. */
    private static List<String> chain(String target) {
        List<String> chain = new ArrayList<>();
        for (String name = target; stages.containsKey(name); name = stages.get(name).from()) {
            chain.add(name);
        }
        return chain;
    }

    private static Optional<String> lastInChain(String target, String keyword) {
        for (String name : chain(target)) {
            List<String> values = stages.get(name).arguments(keyword);
            if (!values.isEmpty()) {
                return Optional.of(values.get(values.size() - 1));
            }
        }
        return Optional.empty();
    }

    /** ENV of the target, inherited values overridden by nearer stages. */
    private static Map<String, String> env(String target) {
        Map<String, String> env = new LinkedHashMap<>();
        List<String> chain = new ArrayList<>(chain(target));
        java.util.Collections.reverse(chain);
        for (String name : chain) {
            for (String arguments : stages.get(name).arguments("ENV")) {
                Matcher pair = ENV_PAIR.matcher(arguments);
                while (pair.find()) {
                    env.put(pair.group(1), pair.group(2).replaceAll("^\"|\"$", ""));
                }
            }
        }
        return env;
    }

    /** The accepted values of the first shell `case` in a stage: "a|b|c) ;;". */
    private static Set<String> caseLabels(Stage stage) {
        for (String run : stage.arguments("RUN")) {
            Matcher labels = Pattern.compile("in\\s+([a-z|\\-]+)\\)\\s*;;").matcher(run);
            if (labels.find()) {
                return new TreeSet<>(List.of(labels.group(1).split("\\|")));
            }
        }
        throw new AssertionError("stage " + stage.name() + " does not check its service with a case statement");
    }

    private static String property(String pom, String name) {
        Matcher value = Pattern.compile("<" + Pattern.quote(name) + ">([^<]+)</").matcher(pom);
        assertTrue(value.find(), "the root pom defines " + name);
        return value.group(1).trim();
    }

    /** Instructions as [KEYWORD, arguments], with comment lines dropped and line continuations joined. */
    private static List<String[]> instructions(String dockerfile) {
        List<String[]> instructions = new ArrayList<>();
        StringBuilder pending = new StringBuilder();
        for (String line : dockerfile.lines().toList()) {
            String trimmed = line.trim();
            if (trimmed.startsWith("#") || (trimmed.isEmpty() && pending.isEmpty())) {
                continue;
            }
            if (trimmed.endsWith("\\")) {
                pending.append(trimmed, 0, trimmed.length() - 1).append(' ');
                continue;
            }
            pending.append(trimmed);
            String[] parts = pending.toString().trim().split("\\s+", 2);
            instructions.add(new String[] {parts[0].toUpperCase(), parts.length > 1 ? parts[1] : ""});
            pending.setLength(0);
        }
        return instructions;
    }
}
