package dev.kiln.model.dataset;

/**
 * One dataset's parameters after resolution (dataset table, then [general], then the training arguments,
 * then defaults). With bucketing on, min/max bucket resolutions are already adjusted to multiples of
 * {@code bucketResoSteps} as sd-scripts does (BaseDataset.adjust_min_max_bucket_reso_by_steps).
 *
 * @param table where the dataset was configured, e.g. {@code datasets[0]}
 * @param width resolution width
 * @param height resolution height
 * @param validationSeed null when not given
 */
public record DatasetParams(
        DatasetKind kind,
        String table,
        int width,
        int height,
        int batchSize,
        boolean enableBucket,
        int minBucketReso,
        int maxBucketReso,
        int bucketResoSteps,
        boolean bucketNoUpscale,
        double networkMultiplier,
        Integer validationSeed,
        double validationSplit,
        String resizeInterpolation) {}
