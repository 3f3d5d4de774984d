package dev.kiln.model.dataset;

import java.util.random.RandomGenerator;

/**
 * Resize-then-crop geometry of one sample (train_util.py trim_and_resize_if_required and
 * BucketManager.get_crop_ltrb): after resizing to {@link BucketChoice#resized}, the image is cropped to the bucket
 * at a centred offset, or at a uniformly random one with {@code random_crop}; {@code flip_aug} flips half the
 * samples horizontally.
 */
public final class CropGeometry {
    private CropGeometry() {}

    /**
     * One sample's crop: the top-left corner in the resized image and whether it is flipped.
     *
     * @param left offset in x of the bucket window inside the resized image
     * @param top offset in y
     */
    public record Crop(int left, int top, boolean flip) {}

    /** The centred crop: {@code (resized - bucket) // 2} on each axis where the resized image is larger. */
    public static Crop center(BucketChoice choice) {
        return new Crop(centerOffset(choice.resized().width(), choice.bucket().width()),
                centerOffset(choice.resized().height(), choice.bucket().height()), false);
    }

    /**
     * A sample's crop for a subset: random offsets {@code randint(0, trim)} (inclusive) with random_crop,
     * else centred; then a 50 % flip with flip_aug. Random numbers are drawn in sd-scripts' order (x, y, flip).
     */
    public static Crop sample(BucketChoice choice, boolean randomCrop, boolean flipAug, RandomGenerator random) {
        int trimX = Math.max(0, choice.resized().width() - choice.bucket().width());
        int trimY = Math.max(0, choice.resized().height() - choice.bucket().height());
        int left = randomCrop && trimX > 0 ? random.nextInt(trimX + 1) : trimX / 2;
        int top = randomCrop && trimY > 0 ? random.nextInt(trimY + 1) : trimY / 2;
        boolean flip = flipAug && random.nextDouble() < 0.5;
        return new Crop(left, top, flip);
    }

    private static int centerOffset(int resized, int bucket) {
        return resized > bucket ? (resized - bucket) / 2 : 0;
    }

    /**
     * SDXL's crop metadata (get_crop_ltrb): where an image of {@code imageSize} placed to fit inside the bucket
     * would sit, as {left, top, right, bottom}; left/top are floor-divided by 2 and may be fractional.
     */
    public static double[] cropLtrb(Size bucket, Size imageSize) {
        double bucketAr = (double) bucket.width() / bucket.height();
        double imageAr = (double) imageSize.width() / imageSize.height();
        double resizedWidth;
        double resizedHeight;
        if (bucketAr > imageAr) {
            resizedWidth = bucket.height() * imageAr;
            resizedHeight = bucket.height();
        } else {
            resizedWidth = bucket.width();
            resizedHeight = bucket.width() / imageAr;
        }
        double left = Math.floor((bucket.width() - resizedWidth) / 2);
        double top = Math.floor((bucket.height() - resizedHeight) / 2);
        return new double[] {left, top, left + resizedWidth, top + resizedHeight};
    }
}
