package dev.kiln.diffusion.train.schedule;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Each schedule against its closed form at warmup edges and through the decay, plus warmup-step parsing. */
class LrSchedulesTest {

    static final double LR = 1e-4;
    static final long T = 100;
    static final long W = 10;

    static double lr(String name, long step) {
        return LrSchedules.create(name, W, T, 2, 2.0, LR).lr(LR, step);
    }

    @Test
    void warmupIsLinearFromZeroForEveryScheduleWithWarmup() {
        for (String name : new String[] {"constant_with_warmup", "linear", "cosine", "cosine_with_restarts",
                "polynomial"}) {
            assertEquals(0.0, lr(name, 0), name);
            assertEquals(LR * 1 / 10, lr(name, 1), 1e-18, name);
            assertEquals(LR * 5 / 10, lr(name, 5), 1e-18, name);
            assertEquals(LR * 9 / 10, lr(name, 9), 1e-18, name);
            assertEquals(LR, lr(name, 10), 1e-15, name + " reaches the base lr when warmup ends");
        }
        // warmup 1: the very first update already... uses factor 0 (sd-scripts quirk: the first update runs at lr 0)
        assertEquals(0.0, LrSchedules.create("linear", 1, T, 1, 1, LR).factor(0));
    }

    @Test
    void decayFormulas() {
        for (long s : new long[] {10, 11, 32, 55, 77, 99, 100}) {
            double p = (s - W) / (double) (T - W);
            assertEquals(LR, lr("constant_with_warmup", s), 1e-15);
            assertEquals(LR * (T - s) / (T - W), lr("linear", s), 1e-15, "linear " + s);
            assertEquals(LR * 0.5 * (1 + Math.cos(Math.PI * p)), lr("cosine", s), 1e-15, "cosine " + s);
            double restarts = p >= 1 ? 0 : 0.5 * (1 + Math.cos(Math.PI * ((2 * p) % 1.0)));
            assertEquals(LR * restarts, lr("cosine_with_restarts", s), 1e-15, "restarts " + s);
            double poly = (LR - 1e-7) * Math.pow(1 - p, 2) + 1e-7;
            assertEquals(poly, lr("polynomial", s), 1e-15, "polynomial " + s);
        }
        // sd-scripts' table (lr 1e-4, T 100, w 10)
        assertEquals(7.55556e-5, lr("linear", 32), 1e-10);
        assertEquals(8.5967e-5, lr("cosine", 32), 1e-9);
        assertEquals(5.1745e-5, lr("cosine_with_restarts", 32), 1e-9);
        assertEquals(1e-4, lr("cosine_with_restarts", 55), 1e-12, "restart at half way");
        assertEquals(5.71293e-5, lr("polynomial", 32), 1e-10);
        assertEquals(1.52671e-5, lr("cosine", 77), 1e-10);
        assertEquals(6.62433e-6, lr("polynomial", 77), 1e-11);
        // beyond T
        assertEquals(0.0, lr("linear", 120));
        assertEquals(0.0, lr("cosine_with_restarts", 120));
        assertEquals(1e-7, lr("polynomial", 150), 1e-20);
        assertEquals(1e-7, lr("polynomial", 100), 1e-20);
    }

    @Test
    void constantAndRefusals() {
        LrSchedule constant = LrSchedules.create("constant", 0, T, 1, 1, LR);
        assertEquals(1.0, constant.factor(0));
        assertEquals(1.0, constant.factor(1000));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LrSchedules.create("constant", 5, T, 1, 1, LR));
        assertTrue(e.getMessage().contains("lr_warmup_steps"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> LrSchedules.create("inverse_sqrt", 0, T, 1, 1, LR));
        assertTrue(e.getMessage().contains("inverse_sqrt"), e.getMessage());
        assertEquals(1.0, LrSchedules.create("adafactor:0.001", 0, T, 1, 1, LR).factor(50));
        assertThrows(IllegalArgumentException.class, () -> LrSchedules.create("cosine_with_restarts", 0, T, 0, 1, LR));
    }

    @Test
    void warmupStepsAcceptCountsRatiosAndPercentages() {
        assertEquals(0, LrSchedules.warmupSteps(null, 1000));
        assertEquals(50, LrSchedules.warmupSteps("50", 1000));
        assertEquals(100, LrSchedules.warmupSteps("10%", 1000));
        assertEquals(50, LrSchedules.warmupSteps("0.05", 1000));
        assertEquals(33, LrSchedules.warmupSteps("0.1", 333), "int(ratio × T) truncates");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LrSchedules.warmupSteps("1.5", 1000));
        assertTrue(e.getMessage().contains("1.5"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> LrSchedules.warmupSteps("ten", 1000));
    }
}
