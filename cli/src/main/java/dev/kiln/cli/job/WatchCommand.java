package dev.kiln.cli.job;

import dev.kiln.model.events.TrainingProgress;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.apache.kafka.common.KafkaException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code kiln watch JOB}: follows the job's events on {@code kiln.training.progress} with a line per stage
 * and exits on its terminal event: 0 completed, 1 failed, 3 cancelled; 4 when {@code --timeout} passes
 * first, 2 for an invalid job name, 5 when Kafka cannot be reached.
 */
@Command(name = "watch", mixinStandardHelpOptions = true,
        description = "Follow a job's progress until it completes, fails or is cancelled.")
public final class WatchCommand implements Callable<Integer> {
    // exit statuses of 'watch' and 'submit': one per way a job ends, then the CLI's own problems
    public static final int COMPLETED = 0;
    public static final int FAILED = 1;
    public static final int INVALID_INPUT = 2;
    public static final int CANCELLED = 3;
    public static final int TIMED_OUT = 4;
    public static final int UNAVAILABLE = 5;

    @Parameters(index = "0", paramLabel = "JOB", description = "the job name (the <job> of jobs/<job>/job.toml)")
    String job;

    @Option(names = "--from-beginning", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Replay the job's events from the start of the topic (default); "
                    + "--no-from-beginning shows only new events.")
    boolean fromBeginning;

    @Option(names = "--timeout", paramLabel = "DURATION", converter = DurationConverter.class,
            description = "Give up (exit 4) when the job has not ended within this time: 90s, 15m, 2h. "
                    + "Default: wait until it ends.")
    Duration timeout;

    @Mixin
    ConnectionOptions connection;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        String problem = SubmitCommand.jobNameProblem(job);
        if (problem != null) {
            err.println(problem);
            err.flush();
            return INVALID_INPUT;
        }
        ProgressWatcher.Start start = fromBeginning ? ProgressWatcher.Start.BEGINNING : ProgressWatcher.Start.NOW;
        ProgressWatcher watcher;
        try {
            watcher = ProgressWatcher.open(connection, job, start, timeout);
        } catch (ProgressWatcher.UnavailableException e) {
            err.println(e.getMessage());
            err.flush();
            return UNAVAILABLE;
        }
        return follow(watcher, job, timeout, spec.commandLine().getOut(), err);
    }

    /** Shows the job's events until its end, closes {@code watcher} and returns the exit status. */
    static int follow(ProgressWatcher watcher, String job, Duration timeout, PrintWriter out, PrintWriter err) {
        // a redrawn line needs a terminal; in a log (System.console() == null) every event gets its own line
        ProgressView view = new ProgressView(out, System.console() != null);
        Optional<TrainingProgress> end;
        try (watcher) {
            end = watcher.await(timeout, view::show, warning -> {
                view.endOpenLine();
                err.println("warning: " + warning);
                err.flush();
            });
        } catch (KafkaException e) {
            view.endOpenLine();
            err.println("lost Kafka while watching job " + job + ": " + e.getMessage());
            err.flush();
            return UNAVAILABLE;
        }
        view.endOpenLine();
        if (end.isEmpty()) {
            err.println("job " + job + " did not end within " + human(timeout));
            err.flush();
            return TIMED_OUT;
        }
        TrainingProgress terminal = end.get();
        return switch (terminal.type()) {
            case COMPLETED -> {
                out.println("job " + job + " completed: " + terminal.artifact());
                out.flush();
                yield COMPLETED;
            }
            case FAILED -> {
                err.println("job " + job + " failed in " + terminal.stage().wire() + ": " + terminal.message());
                err.flush();
                yield FAILED;
            }
            default -> {
                out.println("job " + job + " was cancelled");
                out.flush();
                yield CANCELLED;
            }
        };
    }

    private static String human(Duration d) {
        return ProgressView.duration(d.toMillis() / 1000.0);
    }
}
