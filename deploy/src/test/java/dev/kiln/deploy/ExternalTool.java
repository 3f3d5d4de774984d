package dev.kiln.deploy;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * A command-line tool the checks run (docker-compose, kubectl): found on the PATH or through an environment
 * variable naming the binary; a missing tool fails the test with the line that installs it.
 */
final class ExternalTool {

    /** What a finished command returned. */
    record Result(int exitCode, String stdout, String stderr) {
        Result requireSuccess(String what) {
            if (exitCode != 0) {
                throw new AssertionError(what + " failed with exit code " + exitCode + ":\n" + stderr + stdout);
            }
            return this;
        }
    }

    private static final long TIMEOUT_SECONDS = 120;

    private final String binary;

    private ExternalTool(String binary) {
        this.binary = binary;
    }

    static ExternalTool dockerCompose() {
        return find("docker-compose", "DOCKER_COMPOSE",
                "apt-get install -y --no-install-recommends docker-compose  (Debian's docker-compose 1.29 validates offline)");
    }

    static ExternalTool kubectl() {
        return find("kubectl", "KUBECTL", "apt-get install -y --no-install-recommends kubernetes-client");
    }

    private static ExternalTool find(String name, String overrideVariable, String installHint) {
        String override = System.getenv(overrideVariable);
        if (override != null && !override.isBlank()) {
            if (!Files.isExecutable(Path.of(override))) {
                throw new AssertionError(overrideVariable + "=" + override + " is not an executable file");
            }
            return new ExternalTool(override);
        }
        String path = System.getenv().getOrDefault("PATH", "");
        for (String dir : path.split(File.pathSeparator)) {
            Path candidate = Path.of(dir.isEmpty() ? "." : dir, name);
            if (Files.isExecutable(candidate)) {
                return new ExternalTool(candidate.toString());
            }
        }
        throw new AssertionError(name + " is not on the PATH (nor named by " + overrideVariable + "). Install it: "
                + installHint);
    }

    Result run(Path workingDir, List<String> arguments) {
        return run(workingDir, arguments, env -> { });
    }

    /** Runs the tool with {@code arguments}; {@code environment} may adjust the child's environment. */
    Result run(Path workingDir, List<String> arguments, Consumer<Map<String, String>> environment) {
        List<String> command = new ArrayList<>();
        command.add(binary);
        command.addAll(arguments);
        Path out = tempFile("out");
        Path err = tempFile("err");
        ProcessBuilder builder = new ProcessBuilder(command)
                .directory(workingDir.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(out.toFile())
                .redirectError(err.toFile());
        environment.accept(builder.environment());
        try {
            Process process = builder.start();
            if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new AssertionError(String.join(" ", command) + " did not finish within " + TIMEOUT_SECONDS + " s");
            }
            return new Result(process.exitValue(),
                    Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new AssertionError("cannot run " + String.join(" ", command) + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while running " + String.join(" ", command), e);
        } finally {
            deleteQuietly(out);
            deleteQuietly(err);
        }
    }

    private static Path tempFile(String suffix) {
        try {
            return Files.createTempFile(Repo.workDir(), "tool-", "." + suffix);
        } catch (IOException e) {
            throw new AssertionError("cannot create a temp file under " + Repo.workDir(), e);
        }
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException ignored) {
            // only a scratch file under target/
        }
    }
}
