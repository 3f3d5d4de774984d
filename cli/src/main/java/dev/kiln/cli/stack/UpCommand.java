package dev.kiln.cli.stack;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;

/** {@code kiln up}: the whole local stack, in the foreground until Ctrl-C or SIGTERM. */
@Command(name = "up", mixinStandardHelpOptions = true,
        description = {"Start embedded Kafka (localhost:9092) and S3 (http://localhost:9000), create the bucket and"
                + " every kiln.* topic, start the five services and wait until they are ready.",
                "Ctrl-C or SIGTERM stops everything; no child process outlives kiln."})
public final class UpCommand implements Callable<Integer> {

    @Option(names = "--infra-only", description = "Start only Kafka and S3, not the services.")
    boolean infraOnly;

    @Option(names = "--data-dir", description = "Where Kafka, S3 and the services keep their data (default: ${DEFAULT-VALUE}).",
            defaultValue = "${sys:kiln.home:-.}/.kiln")
    Path dataDir;

    @Option(names = "--kafka-port", defaultValue = "9092", description = "Kafka port (default: ${DEFAULT-VALUE}).")
    int kafkaPort;

    @Option(names = "--s3-port", defaultValue = "9000", description = "S3 port (default: ${DEFAULT-VALUE}).")
    int s3Port;

    @Option(names = "--no-scanner", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Run the ingestion bucket scanner (s3proxy sends no bucket notifications). Default: on.")
    boolean scanner;

    @Option(names = "--ready-timeout", defaultValue = "120", description = "Seconds to wait for the services (default: ${DEFAULT-VALUE}).")
    int readyTimeoutSeconds;

    @Override
    public Integer call() throws InterruptedException {
        Path root = Path.of(System.getProperty("kiln.home", ".")).toAbsolutePath().normalize();
        String bucket = envOr("KILN_BUCKET", "kiln");
        LocalStack stack = new LocalStack(new LocalStack.Settings(root, dataDir.toAbsolutePath().normalize(), kafkaPort,
                kafkaPort + 1, s3Port, bucket, infraOnly, scanner, Duration.ofSeconds(readyTimeoutSeconds), 0), System.out);
        CountDownLatch stopped = new CountDownLatch(1);
        AtomicBoolean stopping = new AtomicBoolean();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            stopping.set(true);
            System.out.println("\nStopping Kiln ...");
            stack.close();
            stopped.countDown();
        }, "kiln-stop"));
        try {
            stack.start();
        } catch (RuntimeException e) {
            System.err.println("kiln up failed: " + e.getMessage());
            return 1;
        }
        printSummary(stack);
        // Stay in the foreground; report a child that dies on its own.
        while (!stopped.await(2, java.util.concurrent.TimeUnit.SECONDS)) {
            List<String> dead = stack.deadProcesses();
            if (!dead.isEmpty() && !stopping.get()) {
                System.err.println("kiln: " + String.join(", ", dead) + " stopped unexpectedly; stopping the stack"
                        + " (logs under " + dataDir + ")");
                return 1; // the shutdown hook stops the rest
            }
        }
        return 0;
    }

    private void printSummary(LocalStack stack) {
        StackState state = stack.state();
        Credentials creds = stack.credentials();
        System.out.println();
        System.out.println(StatusCommand.table(state, false));
        System.out.println();
        System.out.println("Kafka:  " + state.kafkaBootstrap() + "   (topics: kiln.*)");
        System.out.println("S3:     " + state.s3Endpoint() + "   bucket: " + state.bucket());
        if (creds.generated()) {
            System.out.println("S3 credentials (generated, kept in " + dataDir.resolve("credentials.properties") + "):");
        } else {
            System.out.println("S3 credentials: from KILN_S3_ACCESS_KEY / KILN_S3_SECRET_KEY");
        }
        System.out.println("  export AWS_ACCESS_KEY_ID=" + creds.accessKey());
        if (creds.generated()) {
            System.out.println("  export AWS_SECRET_ACCESS_KEY=" + creds.secretKey());
        } else {
            System.out.println("  export AWS_SECRET_ACCESS_KEY=$KILN_S3_SECRET_KEY");
        }
        System.out.println("  export AWS_DEFAULT_REGION=us-east-1");
        System.out.println("  aws --endpoint-url " + state.s3Endpoint() + " s3 ls s3://" + state.bucket());
        System.out.println();
        System.out.println(infraOnly ? "Kafka and S3 are up. Ctrl-C stops them." : "Kiln is up. Ctrl-C stops everything.");
    }

    private static String envOr(String name, String fallback) {
        String v = System.getenv(name);
        return v == null || v.isBlank() ? fallback : v;
    }
}
