package dev.kiln.model.dataset;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Epoch batches (train_util.py make_buckets / shuffle_buckets): sizes, single-bucket batches, repeats. */
class BatchScheduleTest {
    private static DatasetPlan plan(MemorySource source) {
        DatasetConfig config = DatasetConfigParser.parseDatasetConfig("""
                [[datasets]]
                resolution = 512
                enable_bucket = true
                batch_size = 3
                  [[datasets.subsets]]
                  image_dir = "x"
                  num_repeats = 2
                """, "d.toml", Map.of(), DatasetConfigParser.Options.SD);
        return DatasetPlanner.plan(config, source, TrainingLength.DEFAULT);
    }

    @Test
    void everySampleOncePerEpochInBatchesOfOneBucket() {
        MemorySource source = new MemorySource().images("x", 7, 512, 512);
        for (int i = 0; i < 4; i++) {
            source.image("x/wide" + i + ".png", 1920, 1080);
        }
        DatasetPlan plan = plan(source);
        BatchSchedule schedule = new BatchSchedule(plan.datasets().get(0), 0, 1234);
        List<BatchSchedule.Batch> previous = null;
        for (int epoch = 1; epoch <= 3; epoch++) {
            List<BatchSchedule.Batch> batches = schedule.epoch(epoch);
            // 14 square samples -> 5 batches (3,3,3,3,2); 8 wide -> 3 batches (3,3,2)
            assertEquals(plan.datasets().get(0).batches(), batches.size());
            assertEquals(8, batches.size());
            Map<String, Integer> seen = new HashMap<>();
            for (BatchSchedule.Batch b : batches) {
                assertTrue(b.samples().size() >= 1 && b.samples().size() <= 3);
                for (DatasetPlan.Image img : b.samples()) {
                    assertEquals(b.bucket(), img.bucket().bucket(), "a batch never mixes buckets");
                    seen.merge(img.path(), 1, Integer::sum);
                }
            }
            assertEquals(11, seen.size());
            seen.values().forEach(n -> assertEquals(2, n, "each image appears num_repeats times"));
            if (previous != null) {
                assertNotEquals(previous, batches, "reshuffled every epoch");
            }
            previous = batches;
        }
        BatchSchedule again = new BatchSchedule(plan.datasets().get(0), 0, 1234);
        again.epoch(1);
        again.epoch(2);
        assertEquals(previous, again.epoch(3), "same seed, same order");
    }
}
