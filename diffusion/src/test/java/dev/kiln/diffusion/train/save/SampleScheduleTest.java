package dev.kiln.diffusion.train.save;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.LocalDateTime;
import org.junit.jupiter.api.Test;

/** §10: when samples are rendered and their file names. */
class SampleScheduleTest {

    private static SampleSchedule sample(String toml) {
        return SampleSchedule.of(SaveScheduleTest.job(toml));
    }

    @Test
    void sampleAtFirstOnlyBeforeTraining() {
        SampleSchedule s = sample("sample_at_first = true\n");
        assertTrue(s.atStart());
        assertFalse(s.afterStep(10));
        assertFalse(s.afterEpoch(1, 10));
        assertFalse(sample("sample_every_n_steps = 5\n").atStart());
    }

    @Test
    void everyNStepsSamplesAfterStepsNotAtEpochEnds() {
        SampleSchedule s = sample("sample_every_n_steps = 5\n");
        assertTrue(s.afterStep(5));
        assertTrue(s.afterStep(10));
        assertFalse(s.afterStep(7));
        assertFalse(s.afterEpoch(2, 10), "an epoch end at a multiple of N is not a step call");
    }

    @Test
    void everyNEpochsWinsOverEveryNSteps() {
        SampleSchedule s = sample("sample_every_n_steps = 5\nsample_every_n_epochs = 2\n");
        assertFalse(s.afterStep(5), "sample_every_n_steps is ignored");
        assertFalse(s.afterEpoch(1, 7));
        assertTrue(s.afterEpoch(2, 14));
        assertTrue(s.afterEpoch(4, 28));
    }

    @Test
    void zeroOrNegativeDisables() {
        SampleSchedule s = new SampleSchedule(false, 0L, -1L);
        assertEquals(null, s.everyNSteps());
        assertEquals(null, s.everyNEpochs());
        assertFalse(s.afterStep(10));
        assertFalse(s.afterEpoch(1, 10));
        assertTrue(new SampleSchedule(false, 4L, 0L).afterStep(8), "a disabled epoch value leaves steps on");
    }

    @Test
    void fileNamesAsSdScriptsWritesThem() {
        LocalDateTime t = LocalDateTime.of(2026, 2, 16, 12, 0, 0);
        assertEquals("mylora_e000000_00_20260216120000_42.png", SampleSchedule.fileName("mylora", 0, 0, 0, t, 42L));
        assertEquals("mylora_000500_03_20260216120000.png", SampleSchedule.fileName("mylora", null, 500, 3, t, null));
        assertEquals("e000002_11_20260216120000.png", SampleSchedule.fileName(null, 2, 40, 11, t, null));
        assertEquals("x_1234567_00_20260216120000_7.png", SampleSchedule.fileName("x", null, 1234567, 0, t, 7L));
    }
}
