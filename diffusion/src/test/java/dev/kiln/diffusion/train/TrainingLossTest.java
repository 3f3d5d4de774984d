package dev.kiln.diffusion.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.kiln.diffusion.scheduler.NoiseSchedule;
import dev.kiln.diffusion.scheduler.SchedulerConfig;
import org.junit.jupiter.api.Test;

/**
 * sd-scripts' loss weighting and reduction; expected values are the computed test vectors of
 * shared/reference/kohya-behaviour.md §9.2 (train_util / custom_train_functions formulas in float32).
 */
class TrainingLossTest {

    private static final NoiseSchedule SCHEDULE = NoiseSchedule.of(SchedulerConfig.kohya(false));

    private static TrainingLoss loss(Double minSnr, boolean debiased, boolean vPred, String lossType, String huber) {
        return new TrainingLoss(new LossOptions(lossType, huber, 0.1, 1.0, minSnr, false, null, debiased, vPred, 1.0),
                SCHEDULE.snr(), SCHEDULE.alphasCumprod());
    }

    @Test
    void minSnrGammaWeights() {
        TrainingLoss eps = loss(5.0, false, false, "l2", null);
        assertEquals(0.004253725, eps.postProcessWeight(0), 1e-7);
        assertEquals(0.04830568, eps.postProcessWeight(10), 1e-6);
        assertEquals(0.5914451, eps.postProcessWeight(100), 1e-6);
        assertEquals(1.0, eps.postProcessWeight(250), 1e-7);
        TrainingLoss v = loss(5.0, false, true, "l2", null);
        assertEquals(0.004250109, v.postProcessWeight(0), 1e-7);
        assertEquals(0.5288839, v.postProcessWeight(100), 1e-6);
        assertEquals(0.2763326, v.postProcessWeight(500), 1e-6);
        assertEquals(0.004660089, v.postProcessWeight(999), 1e-7);
    }

    @Test
    void debiasedEstimationWeights() {
        TrainingLoss eps = loss(null, true, false, "l2", null);
        assertEquals(0.03162278, eps.postProcessWeight(0), 1e-7);
        assertEquals(0.3439317, eps.postProcessWeight(100), 1e-6);
        assertEquals(1.618279, eps.postProcessWeight(500), 1e-5);
        assertEquals(14.61466, eps.postProcessWeight(999), 1e-3);
    }

    @Test
    void huberThresholds() {
        TrainingLoss snr = loss(null, false, false, "huber", "snr");
        assertEquals(0.9497093, snr.huberC(0), 1e-6);
        assertEquals(0.5982968, snr.huberC(100), 1e-6);
        assertEquals(0.2312836, snr.huberC(500), 1e-6);
        assertEquals(0.1036913, snr.huberC(999), 1e-6);
        TrainingLoss exponential = loss(null, false, false, "huber", "exponential");
        assertEquals(0.3162278, exponential.huberC(500), 1e-6);
        assertEquals(0.1002305, exponential.huberC(999), 1e-6);
    }

    @Test
    void perSampleMeanThenWeightsThenBatchMean() {
        try (NDManager m = NDManager.newBaseManager()) {
            // sample 0 errs by 1 everywhere, sample 1 by 2 on half its values: per-sample MSE 1 and 2
            NDArray pred = m.create(new float[] {1, 1, 1, 1, 2, 2, 0, 0}, new Shape(2, 1, 2, 2));
            NDArray target = m.zeros(new Shape(2, 1, 2, 2));
            float value = loss(null, false, false, "l2", null)
                    .loss(pred, target, new long[] {300, 300}, new float[] {1f, 0.5f}).getFloat();
            assertEquals((1 * 1 + 2 * 0.5) / 2.0, value, 1e-6); // prior_loss_weight 0.5 on the second sample
            float l1 = loss(null, false, false, "l1", null)
                    .loss(pred, target, new long[] {300, 300}, new float[] {1f, 1f}).getFloat();
            assertEquals((1 + 1) / 2.0, l1, 1e-6);
        }
    }

    @Test
    void invalidCombinationsAreRefusedByName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new LossOptions("l2", "snr", 0.1, 1, null, true, null, false, false, 1));
        assertEquals("scale_v_pred_loss_like_noise_pred needs v_parameterization", e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> new LossOptions("l3", "snr", 0.1, 1, null, false, null, false, false, 1));
    }
}
