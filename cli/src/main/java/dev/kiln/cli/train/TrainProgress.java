package dev.kiln.cli.train;

import dev.kiln.diffusion.train.TrainingListener;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * {@code kiln train}'s terminal output: one bar redrawn in place per stage (latent caching, then training with
 * step/total, loss, moving-average loss, learning rate, it/s and ETA), and a line per saved file or sample batch.
 */
final class TrainProgress implements TrainingListener {

    private static final int WIDTH = 24;

    private final PrintWriter out;
    private final long startNanos = System.nanoTime();
    private boolean barOpen;

    TrainProgress(PrintWriter out) {
        this.out = out;
    }

    @Override
    public void caching(long done, long total) {
        double seconds = (System.nanoTime() - startNanos) / 1e9;
        bar("latents", done, total, String.format(Locale.ROOT, "%.1f img/s", seconds > 0 ? done / seconds : 0));
        if (done == total) {
            endBar();
        }
    }

    @Override
    public void started(long step, long totalSteps, int epoch, int totalEpochs) {
        out.printf(Locale.ROOT, "training %d steps in %d epochs%s%n", totalSteps, totalEpochs,
                step > 0 ? ", resuming after step " + step : "");
    }

    @Override
    public void step(StepReport r) {
        bar("train", r.step(), r.totalSteps(), String.format(Locale.ROOT,
                "epoch %d/%d loss %.4f avg %.4f lr %.2e %.2f it/s ETA %s", r.epoch(), r.totalEpochs(), r.loss(),
                r.avgLoss(), r.lr(), r.itPerSec(), duration(r.etaSeconds())));
        if (r.step() == r.totalSteps()) {
            endBar();
        }
    }

    @Override
    public void checkpoint(Path model, Path state, long step, int epoch) {
        line("saved " + model + (state != null ? " (state " + state.getFileName() + ")" : ""));
    }

    @Override
    public void samples(List<Path> images, long step, int epoch) {
        line("samples at step " + step + ": " + images.size() + " image(s) in " + images.get(0).getParent());
    }

    private void bar(String label, long done, long total, String detail) {
        int filled = total <= 0 ? WIDTH : (int) (WIDTH * done / total);
        out.print(String.format(Locale.ROOT, "\r%-7s [%s%s] %d/%d %s", label, "#".repeat(filled),
                ".".repeat(WIDTH - filled), done, total, detail));
        out.flush();
        barOpen = true;
    }

    private void endBar() {
        if (barOpen) {
            out.println();
            barOpen = false;
        }
    }

    private void line(String text) {
        endBar();
        out.println(text);
        out.flush();
    }

    static String duration(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }
}
