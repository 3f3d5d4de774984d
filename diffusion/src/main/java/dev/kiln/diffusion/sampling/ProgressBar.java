package dev.kiln.diffusion.sampling;

import java.io.PrintStream;
import java.util.Locale;

/**
 * A one-line text progress bar for sampling ({@code ./kiln generate}): redrawn in place with a carriage return,
 * finished with a newline after the last step.
 */
public final class ProgressBar implements StepListener {

    private static final int WIDTH = 30;

    private final PrintStream out;
    private final String label;
    private final long startNanos;

    /** A bar on {@code out}, prefixed by {@code label} (e.g. the output file name). */
    public ProgressBar(PrintStream out, String label) {
        this.out = out;
        this.label = label;
        this.startNanos = System.nanoTime();
    }

    @Override
    public void onStep(StepTrace trace) {
        int done = trace.step() + 1;
        int total = trace.steps();
        int filled = (int) ((long) WIDTH * done / total);
        double seconds = (System.nanoTime() - startNanos) / 1e9;
        out.print(String.format(Locale.ROOT, "\r%s [%s%s] %d/%d %.1fs", label, "#".repeat(filled),
                ".".repeat(WIDTH - filled), done, total, seconds));
        if (done == total) {
            out.println();
        }
        out.flush();
    }
}
