package dev.kiln.cli.stack;

import java.nio.file.Path;
import java.util.List;

/** One Kiln service as the local stack runs it: its module folder, HTTP port and heap. */
record ServiceDef(String name, int httpPort, String maxHeap) {

    /** The five services, with the default HTTP ports their application.properties also use. */
    static final List<ServiceDef> ALL = List.of(
            new ServiceDef("ingestion", 8081, "768m"),
            new ServiceDef("captioning", 8082, "512m"),
            new ServiceDef("latent-cache", 8083, "1g"),
            new ServiceDef("trainer", 8084, "2g"),
            new ServiceDef("sampler", 8085, "1g"));

    /** The Quarkus fast-jar launcher built by {@code mvn install}. */
    Path runJar(Path repoRoot) {
        return repoRoot.resolve("services").resolve(name).resolve("target/quarkus-app/quarkus-run.jar");
    }
}
