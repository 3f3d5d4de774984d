package dev.kiln.model.dataset;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * The batches of one epoch, as sd-scripts builds them (train_util.py BaseDataset.make_buckets and
 * shuffle_buckets): every image is put in its bucket once per repeat; a batch is a slice of batch_size samples
 * of one bucket (the last one of a bucket may be smaller); each epoch the batch order and then every bucket's
 * contents are shuffled in place, seeded with {@code seed + epoch}. As in sd-scripts the creation-time shuffle
 * uses seed 0, and shuffles accumulate from epoch to epoch. Java's RNG replaces Python's, so the orders are
 * Kiln's own but reproducible. Samples of several datasets are concatenated by {@link #concat}.
 */
public final class BatchSchedule {
    /** One batch: samples of a single bucket of a single dataset. */
    public record Batch(int dataset, Size bucket, List<DatasetPlan.Image> samples) {}

    private record BatchIndex(int bucket, int index) {}

    private final int datasetIndex;
    private final int batchSize;
    private final long seed;
    private final List<Size> resos = new ArrayList<>();
    private final List<List<DatasetPlan.Image>> buckets = new ArrayList<>();
    private final List<BatchIndex> batchIndices = new ArrayList<>();
    private int currentEpoch;

    /**
     * @param datasetIndex the dataset's index in the plan (reported in batches)
     * @param seed the run's seed for shuffling
     */
    public BatchSchedule(DatasetPlan.Dataset dataset, int datasetIndex, long seed) {
        this.datasetIndex = datasetIndex;
        this.batchSize = dataset.params().batchSize();
        this.seed = seed;
        for (DatasetPlan.Bucket b : dataset.buckets()) {
            resos.add(b.reso());
            buckets.add(new ArrayList<>());
        }
        for (DatasetPlan.Image image : dataset.images()) {
            List<DatasetPlan.Image> bucket = buckets.get(resos.indexOf(image.bucket().bucket()));
            for (int r = 0; r < image.repeats(); r++) {
                bucket.add(image);
            }
        }
        for (int b = 0; b < buckets.size(); b++) {
            int count = (int) TrainingLength.ceilDiv(buckets.get(b).size(), batchSize);
            for (int i = 0; i < count; i++) {
                batchIndices.add(new BatchIndex(b, i));
            }
        }
        shuffle(0); // make_buckets runs before set_seed: its shuffle is seeded with 0 + 0
    }

    private void shuffle(long shuffleSeed) {
        Random random = new Random(shuffleSeed);
        Collections.shuffle(batchIndices, random);
        for (List<DatasetPlan.Image> bucket : buckets) {
            Collections.shuffle(bucket, random);
        }
    }

    /** The batches of {@code epoch} (1-based, called in increasing order, as set_current_epoch advances). */
    public List<Batch> epoch(int epoch) {
        if (epoch < currentEpoch) {
            throw new IllegalArgumentException("epochs advance: " + epoch + " after " + currentEpoch);
        }
        while (currentEpoch < epoch) {
            currentEpoch++;
            shuffle(seed + currentEpoch);
        }
        List<Batch> out = new ArrayList<>(batchIndices.size());
        for (BatchIndex bi : batchIndices) {
            List<DatasetPlan.Image> bucket = buckets.get(bi.bucket());
            int from = bi.index() * batchSize;
            out.add(new Batch(datasetIndex, resos.get(bi.bucket()),
                    List.copyOf(bucket.subList(from, Math.min(from + batchSize, bucket.size())))));
        }
        return out;
    }

    /**
     * All datasets' batches of an epoch in one shuffled order (sd-scripts concatenates the datasets and lets the
     * DataLoader shuffle the batches).
     */
    public static List<Batch> concat(List<BatchSchedule> schedules, int epoch, long seed) {
        List<Batch> all = new ArrayList<>();
        for (BatchSchedule s : schedules) {
            all.addAll(s.epoch(epoch));
        }
        Collections.shuffle(all, new Random(seed * 31 + epoch));
        return all;
    }
}
