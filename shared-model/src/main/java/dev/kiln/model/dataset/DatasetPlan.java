package dev.kiln.model.dataset;

import java.util.List;
import java.util.Map;

/**
 * What sd-scripts would train on: per dataset the registered images with their buckets, captions and
 * (balanced) repeats, the bucket histogram and batch count; and the run's step counts.
 *
 * @param stepsPerEpoch optimizer steps per epoch: ceil(batches / gradient_accumulation_steps)
 * @param totalSteps max_train_steps after max_train_epochs was applied
 * @param epochs ceil(totalSteps / stepsPerEpoch), 0 without data
 * @param warnings what sd-scripts would log as warnings (skipped subsets, missing captions, ...)
 */
public record DatasetPlan(List<Dataset> datasets, long stepsPerEpoch, long totalSteps, long epochs,
        List<String> warnings) {

    /** Total batches per epoch over all datasets ({@code len(train_dataloader)} on one process). */
    public long batchesPerEpoch() {
        return datasets.stream().mapToLong(Dataset::batches).sum();
    }

    /**
     * One dataset of the plan.
     *
     * @param subsets every configured subset, in configured order (images refer to them by index)
     * @param subsetImageCounts images found per subset (0 for skipped ones)
     * @param images registered images: training images in subset order, then the regularization images used
     * @param buckets non-empty buckets sorted by resolution; counts include repeats
     * @param batches sum over buckets of ceil(count / batch_size)
     * @param numTrainImages training images × repeats (sd-scripts' num_train_images)
     * @param numRegImages regularization images × repeats before balancing (ss_num_reg_images)
     * @param excluded images left out of the plan, each with a reason
     * @param tagFrequency sd-scripts' tag counts for {@code ss_tag_frequency}: per image folder name (DreamBooth)
     *     or metadata file name (fine-tuning), lower-cased comma-separated tags and how many captions have them
     */
    public record Dataset(DatasetParams params, List<SubsetParams> subsets, List<Integer> subsetImageCounts,
            List<Image> images, List<Bucket> buckets, long batches, long numTrainImages, long numRegImages,
            List<Excluded> excluded, Map<String, Map<String, Integer>> tagFrequency) {}

    /**
     * A registered image.
     *
     * @param subset index into {@link Dataset#subsets}
     * @param caption the stored caption, before any random processing
     * @param repeats repeats per epoch (balanced repeats for regularization images)
     */
    public record Image(String path, int subset, Size size, BucketChoice bucket, String caption, int repeats,
            boolean isReg) {}

    /** A bucket and its number of samples per epoch (images × repeats). */
    public record Bucket(Size reso, long count) {}

    /** An image left out of the plan and why (Kiln reports what sd-scripts would crash on or skip). */
    public record Excluded(String path, String reason) {}
}
