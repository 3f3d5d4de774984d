package dev.kiln.model.dataset;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

/** sd-scripts' predefined bucket list (library/model_util.py make_bucket_resolutions). */
public final class BucketResolutions {
    private BucketResolutions() {}

    /**
     * The buckets for a resolution: the square of side floor(sqrt(area) / divisible) · divisible, and for
     * every width from {@code minSize} to {@code maxSize} in steps of {@code divisible} the pair (width, height)
     * and (height, width) with height = min(maxSize, floor(floor(area / width) / divisible) · divisible) when
     * height ≥ minSize. Sorted by width, then height.
     */
    public static List<Size> make(int maxWidth, int maxHeight, int minSize, int maxSize, int divisible) {
        long maxArea = (long) maxWidth * maxHeight;
        TreeSet<Size> resos = new TreeSet<>();
        // int(math.sqrt(max_area) // divisible) * divisible; floor(sqrt) keeps the same quotient for integer steps
        int square = (int) ((long) Math.floor(Math.sqrt(maxArea)) / divisible * divisible);
        resos.add(new Size(square, square));
        for (int width = minSize; width <= maxSize; width += divisible) {
            int height = (int) Math.min(maxSize, maxArea / width / divisible * divisible);
            if (height >= minSize) {
                resos.add(new Size(width, height));
                resos.add(new Size(height, width));
            }
        }
        return new ArrayList<>(resos);
    }
}
