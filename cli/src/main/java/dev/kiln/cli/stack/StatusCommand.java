package dev.kiln.cli.stack;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.net.http.HttpClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Callable;

/** {@code kiln status}: what the local stack runs, and whether each part is alive and ready. */
@Command(name = "status", mixinStandardHelpOptions = true, description = "Show what 'kiln up' runs.")
public final class StatusCommand implements Callable<Integer> {

    @Option(names = "--data-dir", defaultValue = "${sys:kiln.home:-.}/.kiln", description = "The stack's data dir (default: ${DEFAULT-VALUE}).")
    Path dataDir;

    @Override
    public Integer call() {
        Optional<StackState> state = StackState.read(dataDir);
        if (state.isEmpty() || !alive(state.get().cliPid())) {
            System.out.println("Kiln is not running (start it with ./kiln up).");
            return 3;
        }
        StackState s = state.get();
        System.out.println(table(s, true));
        System.out.println();
        System.out.println("Kafka: " + s.kafkaBootstrap() + "   S3: " + s.s3Endpoint() + "   bucket: " + s.bucket()
                + "   started " + s.startedAt());
        boolean allUp = s.processes().stream().allMatch(e -> alive(e.pid()));
        return allUp ? 0 : 1;
    }

    /** A fixed-width table of the processes; with {@code probe}, each health URL is asked now. */
    static String table(StackState state, boolean probe) {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
        StringBuilder sb = new StringBuilder(String.format("%-13s %-8s %-8s %s", "PROCESS", "PID", "STATE", "URL"));
        for (StackState.Entry e : state.processes()) {
            String st;
            if (!alive(e.pid())) {
                st = "DEAD";
            } else if (e.healthUrl() == null) {
                st = "UP";
            } else if (!probe) {
                st = "READY";
            } else {
                st = LocalStack.isReady(http, e.healthUrl()) ? "READY" : "NOT-READY";
            }
            sb.append(String.format("%n%-13s %-8d %-8s %s", e.name(), e.pid(), st, e.url() == null ? "" : e.url()));
        }
        return sb.toString();
    }

    private static boolean alive(long pid) {
        return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }
}
