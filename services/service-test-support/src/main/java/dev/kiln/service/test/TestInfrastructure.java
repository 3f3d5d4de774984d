package dev.kiln.service.test;

import org.jboss.logging.Logger;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * How the test resources find Kafka and S3, in order: the environment (an external stack), Testcontainers
 * when a Docker daemon answers, otherwise the embedded child-JVM servers of {@code infra/}.
 */
final class TestInfrastructure {
    private static final Logger LOG = Logger.getLogger(TestInfrastructure.class);
    private static Boolean docker;

    private TestInfrastructure() {
    }

    /** A non-blank environment variable (system property of the same name wins, for IDE runs). */
    static Optional<String> setting(String name) {
        String value = System.getProperty(name, System.getenv(name));
        return value == null || value.isBlank() ? Optional.empty() : Optional.of(value.trim());
    }

    /**
     * Whether Testcontainers can use a Docker daemon. Asked only when something points at one (socket,
     * {@code DOCKER_HOST}, a Testcontainers config), since asking otherwise costs time and logs an error
     * block; the check itself may throw, so any failure means "no".
     */
    static synchronized boolean dockerAvailable() {
        if (docker == null) {
            docker = Boolean.getBoolean("kiln.test.no-docker") ? false : askDocker();
        }
        return docker;
    }

    private static boolean askDocker() {
        Path home = Path.of(System.getProperty("user.home"));
        boolean hint = System.getenv("DOCKER_HOST") != null
                || Files.exists(Path.of("/var/run/docker.sock"))
                || Files.exists(home.resolve(".docker/run/docker.sock"))
                || Files.exists(home.resolve(".testcontainers.properties"));
        if (!hint) {
            return false;
        }
        try {
            return org.testcontainers.DockerClientFactory.instance().isDockerAvailable();
        } catch (Throwable e) {
            LOG.infof("Docker check failed (%s): using embedded servers", e.toString());
            return false;
        }
    }

    /** A fresh directory under the module's {@code target/} for one server of this test JVM. */
    static Path dataDir(String server) {
        return Path.of("target", "test-infra", server + "-" + ProcessHandle.current().pid()).toAbsolutePath();
    }

    static void chosen(String what, String how, String where) {
        LOG.infof("test %s: %s at %s", what, how, where);
    }
}
