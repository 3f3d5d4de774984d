package dev.kiln.model.dataset;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Benchmark (not a test): plans 100,000 listed images (10 DreamBooth subsets, mixed aspect ratios, half with
 * sidecar captions, bucketing on) and prints the time next to a baseline measured in the same run: the plain
 * loop that only builds the listing. Target: planning under 2 s.
 *
 * <p>Run: {@code mvn -o -q -pl shared-model test-compile dependency:build-classpath -Dmdep.outputFile=target/cp.txt}
 * then {@code java -cp shared-model/target/classes:shared-model/target/test-classes:$(cat shared-model/target/cp.txt)
 * dev.kiln.model.dataset.PlanBenchmark}.
 */
public final class PlanBenchmark {
    private static final int IMAGES = 100_000;
    private static final int SUBSETS = 10;
    private static final int ROUNDS = 5;

    private PlanBenchmark() {}

    public static void main(String[] args) {
        String toml = config();
        DatasetConfig config = DatasetConfigParser.parseDatasetConfig(toml, "bench.toml", Map.of(),
                DatasetConfigParser.Options.SD);
        long bestListing = Long.MAX_VALUE;
        long bestPlan = Long.MAX_VALUE;
        DatasetPlan plan = null;
        for (int round = 0; round < ROUNDS + 2; round++) { // two warm-up rounds
            long t0 = System.nanoTime();
            Map<String, List<ListedImage>> listing = listing();
            long t1 = System.nanoTime();
            plan = DatasetPlanner.plan(config, new ListingSource(listing), TrainingLength.DEFAULT);
            long t2 = System.nanoTime();
            if (round >= 2) {
                bestListing = Math.min(bestListing, t1 - t0);
                bestPlan = Math.min(bestPlan, t2 - t1);
            }
        }
        int planned = plan.datasets().get(0).images().size();
        System.out.printf("listing %,d images (baseline): %.1f ms%n", IMAGES, bestListing / 1e6);
        System.out.printf("planning %,d images: %.1f ms (%.1fx the listing), %d buckets, %d batches%n", planned,
                bestPlan / 1e6, (double) bestPlan / bestListing, plan.datasets().get(0).buckets().size(),
                plan.batchesPerEpoch());
        System.out.println(bestPlan < 2_000_000_000L ? "OK: under 2 s" : "SLOW: over 2 s");
    }

    private static String config() {
        StringBuilder toml = new StringBuilder("""
                [general]
                caption_extension = ".txt"
                enable_bucket = true
                [[datasets]]
                resolution = 512
                batch_size = 4
                """);
        for (int s = 0; s < SUBSETS; s++) {
            toml.append("  [[datasets.subsets]]\n  image_dir = \"data/").append(s + 1).append("_class").append(s)
                    .append("\"\n  num_repeats = ").append(s + 1).append("\n  class_tokens = \"sks class")
                    .append(s).append("\"\n");
        }
        return toml.toString();
    }

    /** The baseline: build the listing the caller would pass (paths, sizes, caption text). */
    private static Map<String, List<ListedImage>> listing() {
        SplittableRandom random = new SplittableRandom(1);
        Map<String, List<ListedImage>> byDir = new HashMap<>();
        for (int i = 0; i < IMAGES; i++) {
            int s = i % SUBSETS;
            String dir = "data/" + (s + 1) + "_class" + s;
            int width = 256 + random.nextInt(3800);
            int height = 256 + random.nextInt(3800);
            String caption = i % 2 == 0 ? "sks class" + s + ", photo " + i + ", tag a, tag b\n" : null;
            byDir.computeIfAbsent(dir, d -> new ArrayList<>())
                    .add(new ListedImage(dir + "/img" + i + ".png", width, height, caption));
        }
        return byDir;
    }

    private record ListingSource(Map<String, List<ListedImage>> listing) implements DatasetSource {
        @Override
        public List<String> subdirectories(String dir) {
            return List.of();
        }

        @Override
        public List<ListedImage> images(String imageDir, String captionExtension) {
            return listing.getOrDefault(imageDir, List.of());
        }

        @Override
        public String text(String path) {
            return null;
        }

        @Override
        public int[] imageSize(String path) {
            return null;
        }
    }
}
