package dev.kiln.cli.stack;

import dev.kiln.infra.process.ServerProcess;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Starts a Kiln service's Quarkus fast-jar as a child process, wired to a Kafka broker and an S3 bucket through the
 * {@code KILN_*} environment every service reads (service-support's config); used by {@code kiln up} and the
 * benchmarks.
 */
public final class ServiceLauncher {
    /** Where a service finds Kafka and its bucket. */
    public record Wiring(String kafkaBootstrap, String s3Endpoint, String accessKey, String secretKey, String bucket) {
    }

    private ServiceLauncher() {
    }

    /**
     * @param env        the service's own settings (the wiring, the HTTP port and DJL's offline switches are added)
     * @param jvmOptions heap, GC and system properties
     * @param dir        the working folder; the log goes to {@code dir/service.log}
     */
    public static ServerProcess start(String name, Path jar, Wiring wiring, int httpPort, Map<String, String> env,
                                      List<String> jvmOptions, Path dir) {
        Map<String, String> all = new HashMap<>(env);
        all.put("KILN_KAFKA_BOOTSTRAP", wiring.kafkaBootstrap());
        all.put("KILN_S3_ENDPOINT", wiring.s3Endpoint());
        all.put("KILN_S3_ACCESS_KEY", wiring.accessKey());
        all.put("KILN_S3_SECRET_KEY", wiring.secretKey());
        all.put("KILN_BUCKET", wiring.bucket());
        all.put("KILN_HTTP_PORT", Integer.toString(httpPort));
        all.put("OPT_OUT_TRACKING", "true");
        all.put("DJL_OFFLINE", "true");
        return ServerProcess.start(name, jar.toString(), jvmOptions, "io.quarkus.bootstrap.runner.QuarkusEntryPoint",
                List.of(), all, dir, dir.resolve("service.log"));
    }
}
