package dev.kiln.diffusion.scheduler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

/** kohya's training schedule against the table of kohya-behaviour.md section 9.1. */
class NoiseScheduleTest {

    @Test
    void kohyaScheduleMatchesTheReferenceTable() {
        NoiseSchedule schedule = NoiseSchedule.of(SchedulerConfig.kohya(false));
        float[] betas = schedule.betas();
        float[] ac = schedule.alphasCumprod();
        float[] snr = schedule.snr();
        // t, beta_t, alpha-bar_t, SNR_t
        double[][] table = {
            {0, 0.00085, 0.99915, 1175.44},
            {1, 0.0008546986, 0.998296, 585.862},
            {10, 0.0008975694, 0.9904313, 103.5075},
            {100, 0.0013839725, 0.8942232, 8.45387},
            {250, 0.002427761, 0.6737925, 2.065534},
            {500, 0.0048149545, 0.2763326, 0.3818502},
            {750, 0.0080115786, 0.05616977, 0.05951257},
            {999, 0.012, 0.0046600895, 0.004681908}};
        for (double[] row : table) {
            int t = (int) row[0];
            assertEquals(row[1], betas[t], 1e-6 * row[1], "beta at " + t);
            assertEquals(row[2], ac[t], 2e-6 * row[2], "alpha-bar at " + t);
            assertEquals(row[3], snr[t], 2e-4 * row[3], "SNR at " + t);
        }
    }

    @Test
    void addNoiseChecksTimestepsAndShapes() {
        NoiseSchedule schedule = NoiseSchedule.of(SchedulerConfig.kohya(false));
        try (NDManager manager = NDManager.newBaseManager()) {
            var x0 = manager.ones(new Shape(2, 4, 2, 2));
            var noise = manager.zeros(new Shape(2, 4, 2, 2));
            float[] noisy = schedule.addNoise(x0, noise, new long[] {0, 999}).toFloatArray();
            assertEquals(Math.sqrt(schedule.alphaCumprod(0)), noisy[0], 1e-7);
            assertEquals(Math.sqrt(schedule.alphaCumprod(999)), noisy[16], 1e-7);
            IllegalArgumentException range = assertThrows(IllegalArgumentException.class,
                    () -> schedule.addNoise(x0, noise, new long[] {0, 1000}));
            assertTrue(range.getMessage().contains("1000"), range.getMessage());
            assertThrows(IllegalArgumentException.class, () -> schedule.addNoise(x0, noise, new long[] {1}));
            assertThrows(IllegalArgumentException.class,
                    () -> schedule.velocity(x0, manager.zeros(new Shape(2, 4, 2, 3)), new long[] {1, 2}));
        }
    }
}
