package dev.kiln.deploy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/** The repository under test: where its deployment files are, and which Kiln services it builds. */
final class Repo {

    /** Services that run DJL models and get a CUDA image and a GPU in the GPU deployments. */
    static final Set<String> GPU_SERVICES = Set.of("latent-cache", "trainer", "sampler");

    /** The repository root (system property {@code kiln.repo.root}, set by the module's pom). */
    static Path root() {
        return Path.of(System.getProperty("kiln.repo.root", "..")).toAbsolutePath().normalize();
    }

    static Path file(String relative) {
        Path path = root().resolve(relative);
        if (!Files.isRegularFile(path)) {
            throw new AssertionError("missing " + path);
        }
        return path;
    }

    static String read(String relative) {
        try {
            return Files.readString(file(relative));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A scratch directory under the module's target/ for rendered files. */
    static Path workDir() {
        Path dir = Path.of(System.getProperty("kiln.deploy.work", "target/deploy-checks")).toAbsolutePath();
        try {
            return Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Every deployable service: a module under services/ whose pom builds a Quarkus application. Found from
     * the poms, so a new service without an image definition or manifests fails these tests.
     */
    static List<String> services() {
        try (Stream<Path> dirs = Files.list(root().resolve("services"))) {
            List<String> names = dirs
                    .filter(dir -> isQuarkusApp(dir.resolve("pom.xml")))
                    .map(dir -> dir.getFileName().toString())
                    .sorted()
                    .toList();
            if (names.isEmpty()) {
                throw new AssertionError("no Quarkus service modules found under " + root().resolve("services"));
            }
            return names;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static boolean isQuarkusApp(Path pom) {
        try {
            return Files.isRegularFile(pom) && Files.readString(pom).contains("<artifactId>quarkus-maven-plugin</artifactId>");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private Repo() {
    }
}
