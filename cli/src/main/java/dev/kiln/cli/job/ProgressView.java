package dev.kiln.cli.job;

import dev.kiln.model.events.ProgressType;
import dev.kiln.model.events.Stage;
import dev.kiln.model.events.TrainingProgress;
import java.io.PrintWriter;
import java.util.Locale;

/**
 * Renders progress events as one line per stage. On a terminal, a running stage (caching, training steps)
 * redraws its own line with {@code \r}; elsewhere (CI logs, pipes) every event is a line of its own, since a
 * carriage return there would only garble the log.
 */
public final class ProgressView {
    private static final int BAR_WIDTH = 24;
    /** ANSI "erase to end of line": a shorter redrawn line must not leave the old one's tail behind. */
    private static final String ERASE_LINE_END = "\u001b[K";

    private final PrintWriter out;
    private final boolean interactive;
    /** The stage whose line is still open (printed without a newline, to be redrawn), or null. */
    private Stage openLine;

    public ProgressView(PrintWriter out, boolean interactive) {
        this.out = out;
        this.interactive = interactive;
    }

    /** Shows one event. */
    public void show(TrainingProgress event) {
        String line = line(event);
        boolean redrawable = interactive && isRunning(event);
        if (redrawable && openLine == event.stage()) {
            out.print("\r" + line + ERASE_LINE_END);
        } else {
            endOpenLine();
            if (redrawable) {
                out.print(line);
                openLine = event.stage();
            } else {
                out.println(line);
            }
        }
        out.flush();
    }

    /** Ends a line left open for redrawing, so that whatever is printed next starts on a line of its own. */
    public void endOpenLine() {
        if (openLine != null) {
            out.println();
            openLine = null;
        }
        out.flush();
    }

    /** Events that only update a counter: the ones worth redrawing in place. */
    private static boolean isRunning(TrainingProgress e) {
        return e.type() == ProgressType.STEP || e.type() == ProgressType.CACHING;
    }

    /** The text of one event's line. */
    static String line(TrainingProgress e) {
        StringBuilder s = new StringBuilder(String.format(Locale.ROOT, "%-10s ", "[" + label(e.stage()) + "]"));
        switch (e.type()) {
            case STEP, CACHING -> {
                if (e.step() != null && e.totalSteps() != null && e.totalSteps() > 0) {
                    s.append(bar(e.step(), e.totalSteps())).append(' ')
                            .append(e.step()).append('/').append(e.totalSteps())
                            .append(String.format(Locale.ROOT, " %3d%%", percent(e.step(), e.totalSteps())));
                } else if (e.step() != null) {
                    s.append("step ").append(e.step());
                }
                appendEpoch(s, e);
                appendNumber(s, "loss", e.loss(), "%.4f");
                appendNumber(s, "avg", e.avgLoss(), "%.4f");
                appendNumber(s, "lr", e.lr(), "%.2e");
                if (e.itPerSec() != null) {
                    s.append(String.format(Locale.ROOT, "  %.2f it/s", e.itPerSec()));
                }
                if (e.etaSeconds() != null) {
                    s.append("  ETA ").append(duration(e.etaSeconds()));
                }
            }
            case EPOCH -> {
                s.append("epoch");
                s.append(e.epoch() == null ? "" : " " + e.epoch() + (e.totalEpochs() == null ? "" : "/" + e.totalEpochs()));
                s.append(" done");
                if (e.step() != null) {
                    s.append(" at step ").append(e.step()).append(e.totalSteps() == null ? "" : "/" + e.totalSteps());
                }
                appendNumber(s, "avg loss", e.avgLoss(), "%.4f");
            }
            case CHECKPOINT, SAMPLE -> {
                s.append(e.type().wire());
                if (e.step() != null) {
                    s.append(" at step ").append(e.step());
                }
                s.append(": ").append(e.artifact());
            }
            case COMPLETED -> s.append("completed: ").append(e.artifact());
            case FAILED -> s.append("failed: ").append(e.message());
            default -> {
                s.append(e.type().wire());
                if (e.totalSteps() != null) {
                    s.append(": ").append(e.totalSteps()).append(" steps");
                }
                if (e.totalEpochs() != null) {
                    s.append(e.totalSteps() != null ? ", " : ": ").append(e.totalEpochs()).append(" epochs");
                }
            }
        }
        if (e.message() != null && e.type() != ProgressType.FAILED) {
            s.append("  ").append(e.message());
        }
        return s.toString();
    }

    private static void appendEpoch(StringBuilder s, TrainingProgress e) {
        if (e.epoch() != null) {
            s.append("  epoch ").append(e.epoch());
            if (e.totalEpochs() != null) {
                s.append('/').append(e.totalEpochs());
            }
        }
    }

    private static void appendNumber(StringBuilder s, String name, Double value, String format) {
        if (value != null) {
            s.append("  ").append(name).append(' ').append(String.format(Locale.ROOT, format, value));
        }
    }

    private static String label(Stage stage) {
        return switch (stage) {
            case INGESTION -> "ingest";
            case PLANNING -> "plan";
            case CACHING -> "caching";
            case TRAINING -> "training";
            case SAMPLING -> "samples";
        };
    }

    private static int percent(long done, long total) {
        return (int) Math.max(0, Math.min(100, done * 100 / total));
    }

    /** {@code [#########---------------]}: done out of total, clamped to the bar. */
    static String bar(long done, long total) {
        int filled = (int) Math.max(0, Math.min(BAR_WIDTH, done * BAR_WIDTH / Math.max(1, total)));
        return "[" + "#".repeat(filled) + "-".repeat(BAR_WIDTH - filled) + "]";
    }

    /** Seconds as {@code h:mm:ss}, rounded to the second: 517.6 -> {@code 0:08:38}. */
    static String duration(double seconds) {
        if (!Double.isFinite(seconds) || seconds < 0) {
            return "?";
        }
        long total = Math.round(seconds);
        return String.format(Locale.ROOT, "%d:%02d:%02d", total / 3600, total / 60 % 60, total % 60);
    }
}
