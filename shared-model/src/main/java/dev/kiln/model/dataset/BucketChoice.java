package dev.kiln.model.dataset;

/**
 * Where one image goes: its bucket, the size it is resized to before the crop, and the aspect-ratio error
 * (bucket w/h minus image w/h), as BucketManager.select_bucket returns them.
 */
public record BucketChoice(Size bucket, Size resized, double arError) {}
