package dev.kiln.cli.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * {@code kiln bench tagger}: the captioning service's {@code TaggerBenchmark} (images/s at batch 1 and 8 on CPU for a
 * WD14-shaped 448² ONNX model, and their ratio). It runs in a child JVM on the captioning service's own build
 * ({@code services/captioning/target/quarkus-app}), so the CLI carries neither ONNX Runtime nor Quarkus; the
 * service's main class is never started.
 */
@Command(name = "tagger", description = {"images/s of the WD14-style ONNX tagger at batch 1 and batch 8 on CPU"
        + " (a generated tagger-shaped model at 448x448), and the ratio between them.",
        "Runs on the captioning service's build (./kiln builds it)."})
final class TaggerBench implements Callable<Integer> {
    static final String MAIN = "dev.kiln.captioning.tagger.bench.TaggerBenchmark";

    @Parameters(index = "0", arity = "0..1", paramLabel = "ROUNDS", defaultValue = "10",
            description = "Timed rounds of 8 images per batch size (default: ${DEFAULT-VALUE}).")
    int rounds;

    @Override
    public Integer call() throws Exception {
        if (rounds < 1) {
            System.err.println("kiln bench tagger: ROUNDS must be at least 1, got " + rounds);
            return 2;
        }
        Path root = Path.of(System.getProperty("kiln.home", ".")).toAbsolutePath().normalize();
        Path app = root.resolve("services/captioning/target/quarkus-app");
        if (!Files.isDirectory(app.resolve("lib/main"))) {
            System.err.println("kiln bench tagger: the captioning service is not built (" + app + " is missing); run"
                    + " 'mvn -pl services/captioning -am install -DskipTests' or ./kiln with KILN_REBUILD=1");
            return 1;
        }
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dai.djl.offline=true",
                "-cp", String.join(java.io.File.pathSeparator, app.resolve("app") + "/*", app.resolve("lib/main") + "/*",
                        app.resolve("lib/boot") + "/*"),
                MAIN, Integer.toString(rounds)));
        ProcessBuilder builder = new ProcessBuilder(command).inheritIO();
        builder.environment().put("OPT_OUT_TRACKING", "true");
        Process process = builder.start();
        // Ctrl-C stops the benchmark too
        Thread stop = new Thread(process::destroy, "stop-tagger-bench");
        Runtime.getRuntime().addShutdownHook(stop);
        try {
            return process.waitFor();
        } finally {
            Runtime.getRuntime().removeShutdownHook(stop);
        }
    }
}
