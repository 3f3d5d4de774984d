package dev.kiln.diffusion.sampling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ProgressBarTest {

    @Test
    void redrawsOneLineAndEndsItAfterTheLastStep() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ProgressBar bar = new ProgressBar(new PrintStream(bytes, true, StandardCharsets.UTF_8), "img.png");
        for (int i = 0; i < 3; i++) {
            bar.onStep(new StepTrace(i, 3, 999 - i, null, null, null, null, null, null));
        }
        String text = bytes.toString(StandardCharsets.UTF_8);
        String[] frames = text.split("\r");
        assertEquals(4, frames.length, text);
        assertTrue(frames[1].startsWith("img.png [##########....................] 1/3 "), frames[1]);
        assertTrue(frames[3].startsWith("img.png [##############################] 3/3 "), frames[3]);
        assertTrue(text.endsWith(System.lineSeparator()) && !frames[2].contains("\n"), text);
    }
}
