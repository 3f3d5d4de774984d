package dev.kiln.model.dataset;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Assigns images to buckets as sd-scripts' BucketManager.select_bucket does for one dataset: with bucketing,
 * either the predefined list (closest aspect ratio, then scale to cover) or, with {@code bucket_no_upscale},
 * buckets derived from each image (never upscaled); without bucketing, the single bucket {@code resolution}.
 */
public final class BucketSelector {
    private final boolean noUpscale;
    private final long maxArea;
    private final int resoSteps;
    private final List<Size> predefined;
    private final Set<Size> predefinedSet;
    private final double[] predefinedAspectRatios;

    private BucketSelector(boolean noUpscale, long maxArea, int resoSteps, List<Size> predefined) {
        this.noUpscale = noUpscale;
        this.maxArea = maxArea;
        this.resoSteps = resoSteps;
        this.predefined = predefined;
        this.predefinedSet = predefined == null ? Set.of() : new HashSet<>(predefined);
        this.predefinedAspectRatios = predefined == null ? null
                : predefined.stream().mapToDouble(s -> (double) s.width() / s.height()).toArray();
    }

    /** The selector for a dataset (BaseDataset.make_buckets). */
    public static BucketSelector forDataset(DatasetParams p) {
        long area = (long) p.width() * p.height();
        if (!p.enableBucket()) {
            return new BucketSelector(false, area, 0, List.of(new Size(p.width(), p.height())));
        }
        if (p.bucketNoUpscale()) {
            return new BucketSelector(true, area, p.bucketResoSteps(), null);
        }
        return new BucketSelector(false, area, p.bucketResoSteps(), BucketResolutions.make(p.width(), p.height(),
                p.minBucketReso(), p.maxBucketReso(), p.bucketResoSteps()));
    }

    /** The predefined buckets (empty with bucket_no_upscale, where buckets come from the images). */
    public List<Size> predefined() {
        return predefined == null ? List.of() : predefined;
    }

    /**
     * The bucket of an image of {@code width} × {@code height}, or null when it cannot be bucketed (a
     * bucket side of 0 with bucket_no_upscale, where sd-scripts divides by zero or makes a zero-width bucket).
     */
    public BucketChoice select(int width, int height) {
        double aspectRatio = (double) width / height;
        Size reso;
        Size resized;
        if (!noUpscale) {
            reso = new Size(width, height);
            if (!predefinedSet.contains(reso)) {
                reso = predefined.get(closestAspectRatio(aspectRatio));
            }
            double arReso = (double) reso.width() / reso.height();
            double scale = aspectRatio > arReso ? (double) reso.height() / height : (double) reso.width() / width;
            resized = new Size((int) (width * scale + 0.5), (int) (height * scale + 0.5));
        } else {
            if ((long) width * height > maxArea) {
                double resizedWidth = Math.sqrt(maxArea * aspectRatio);
                double resizedHeight = maxArea / resizedWidth;
                // the bucket side closer to the image's aspect ratio after rounding to steps wins
                int bWidthRounded = roundToSteps(resizedWidth);
                int bHeightInWr = roundToSteps(bWidthRounded / aspectRatio);
                int bHeightRounded = roundToSteps(resizedHeight);
                int bWidthInHr = roundToSteps(bHeightRounded * aspectRatio);
                if (bHeightInWr == 0 || bHeightRounded == 0) {
                    return null;
                }
                double arWidthRounded = (double) bWidthRounded / bHeightInWr;
                double arHeightRounded = (double) bWidthInHr / bHeightRounded;
                if (Math.abs(arWidthRounded - aspectRatio) < Math.abs(arHeightRounded - aspectRatio)) {
                    resized = new Size(bWidthRounded, (int) (bWidthRounded / aspectRatio + 0.5));
                } else {
                    resized = new Size((int) (bHeightRounded * aspectRatio + 0.5), bHeightRounded);
                }
            } else {
                resized = new Size(width, height);
            }
            reso = new Size(resized.width() - resized.width() % resoSteps,
                    resized.height() - resized.height() % resoSteps);
            if (reso.width() == 0 || reso.height() == 0) {
                return null;
            }
        }
        return new BucketChoice(reso, resized, (double) reso.width() / reso.height() - aspectRatio);
    }

    /** numpy argmin of |ar_i - ar|: the first one on ties. */
    private int closestAspectRatio(double aspectRatio) {
        int best = 0;
        double bestError = Double.POSITIVE_INFINITY;
        for (int i = 0; i < predefinedAspectRatios.length; i++) {
            double error = Math.abs(predefinedAspectRatios[i] - aspectRatio);
            if (error < bestError) {
                bestError = error;
                best = i;
            }
        }
        return best;
    }

    /** BucketManager.round_to_steps: round half up, then down to a multiple of the steps. */
    private int roundToSteps(double x) {
        int y = (int) (x + 0.5);
        return y - y % resoSteps;
    }
}
