package dev.kiln.cli.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.kiln.model.events.ProgressType;
import dev.kiln.model.events.Stage;
import dev.kiln.model.events.TrainingProgress;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import picocli.CommandLine.TypeConversionException;

/** How {@code kiln watch} draws events on a terminal and in a log, and how it formats times. */
class ProgressViewTest {
    private static final Instant T = Instant.parse("2026-01-01T12:00:00Z");

    private static TrainingProgress step(long step, double eta) {
        return new TrainingProgress("j", ProgressType.STEP, Stage.TRAINING, step, 8L, 1, 1, 0.5, 0.5, 1e-4, 2.0, eta,
                null, null, T);
    }

    private static TrainingProgress sample() {
        return TrainingProgress.artifact("j", ProgressType.SAMPLE, Stage.SAMPLING, 4, "s3://kiln/outputs/j/samples/a.png", T);
    }

    private static String render(boolean interactive, TrainingProgress... events) {
        StringWriter text = new StringWriter();
        ProgressView view = new ProgressView(new PrintWriter(text), interactive);
        for (TrainingProgress e : events) {
            view.show(e);
        }
        view.endOpenLine();
        return text.toString();
    }

    @Test
    void onATerminalStepsRedrawOneLineAndOtherEventsGetLinesOfTheirOwn() {
        String out = render(true, step(2, 3), step(4, 2), sample(), step(6, 1));
        String nl = System.lineSeparator();
        String erase = "\u001b[K";
        assertEquals(ProgressView.line(step(2, 3))
                + "\r" + ProgressView.line(step(4, 2)) + erase + nl
                + ProgressView.line(sample()) + nl
                + ProgressView.line(step(6, 1)) + nl, out);
    }

    @Test
    void inALogEveryEventIsOneLine() {
        String out = render(false, step(2, 3), step(4, 2), sample());
        String nl = System.lineSeparator();
        assertEquals(ProgressView.line(step(2, 3)) + nl + ProgressView.line(step(4, 2)) + nl
                + ProgressView.line(sample()) + nl, out);
    }

    @Test
    void stepLineShowsBarCountsAndEta() {
        assertEquals("[training] [############------------] 4/8  50%  epoch 1/1  loss 0.5000  avg 0.5000"
                + "  lr 1.00e-04  2.00 it/s  ETA 0:00:02", ProgressView.line(step(4, 2)));
    }

    @Test
    void etaIsHoursMinutesSeconds() {
        assertEquals("0:00:00", ProgressView.duration(0.4));
        assertEquals("0:08:38", ProgressView.duration(517.6));
        assertEquals("1:02:05", ProgressView.duration(3725.4));
        assertEquals("27:46:40", ProgressView.duration(100_000));
        assertEquals("?", ProgressView.duration(Double.NaN));
    }

    @Test
    void barIsClampedToItsWidth() {
        assertEquals("[------------------------]", ProgressView.bar(0, 10));
        assertEquals("[########################]", ProgressView.bar(10, 10));
        assertEquals("[########################]", ProgressView.bar(12, 10));
    }

    @Test
    void timeoutAcceptsUnitsAndIso() {
        DurationConverter c = new DurationConverter();
        assertEquals(Duration.ofSeconds(90), c.convert("90"));
        assertEquals(Duration.ofSeconds(90), c.convert("90s"));
        assertEquals(Duration.ofMinutes(15), c.convert("15m"));
        assertEquals(Duration.ofHours(2), c.convert("2h"));
        assertEquals(Duration.ofMinutes(90), c.convert("PT1H30M"));
        assertThrows(TypeConversionException.class, () -> c.convert("soon"));
        assertThrows(TypeConversionException.class, () -> c.convert("0s"));
    }
}
