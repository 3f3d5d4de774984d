package dev.kiln.model.dataset;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Builds a {@link DatasetPlan} from a config and a listing, as sd-scripts builds its datasets:
 * DreamBoothDataset / FineTuningDataset registration (skipped and duplicated subsets, captions, regularization
 * balancing), BaseDataset.make_buckets (bucket per image, samples per bucket, batches) and train_network.py's
 * step counts. Pure: all file access goes through the {@link DatasetSource}.
 */
public final class DatasetPlanner {
    private static final int MAX_WARNED_MISSING_CAPTIONS = 5;

    private DatasetPlanner() {}

    /** Plans every dataset of {@code config} with files from {@code source}. */
    public static DatasetPlan plan(DatasetConfig config, DatasetSource source, TrainingLength length) {
        List<String> warnings = new ArrayList<>();
        List<DatasetPlan.Dataset> datasets = new ArrayList<>();
        for (DatasetBlueprint blueprint : config.resolve(source, warnings)) {
            datasets.add(planDataset(blueprint, source, warnings));
        }
        long batches = datasets.stream().mapToLong(DatasetPlan.Dataset::batches).sum();
        if (batches == 0) {
            warnings.add("No data found: no dataset has any image");
        }
        return new DatasetPlan(List.copyOf(datasets), length.stepsPerEpoch(batches), length.totalSteps(batches),
                length.epochs(batches), List.copyOf(warnings));
    }

    /** Plans one resolved dataset. */
    public static DatasetPlan.Dataset planDataset(DatasetBlueprint blueprint, DatasetSource source,
            List<String> warnings) {
        DatasetParams params = blueprint.params();
        BucketSelector selector = BucketSelector.forDataset(params);
        Registration reg = new Registration(blueprint, selector, warnings);
        for (int i = 0; i < blueprint.subsets().size(); i++) {
            SubsetParams subset = blueprint.subsets().get(i);
            if (subset.numRepeats() < 1) {
                warnings.add("[" + subset.table() + "] ignore subset: num_repeats is less than 1: " + subset.numRepeats());
                continue;
            }
            if (blueprint.kind() == DatasetKind.DREAMBOOTH) {
                reg.addDreamBoothSubset(i, subset, source);
            } else {
                reg.addFinetuneSubset(i, subset, source);
            }
        }
        reg.balanceRegularization();
        return reg.finish();
    }

    /** The mutable state of one dataset while its images are registered. */
    private static final class Registration {
        private final DatasetBlueprint blueprint;
        private final BucketSelector selector;
        private final List<String> warnings;
        private final Map<String, DatasetPlan.Image> images = new LinkedHashMap<>();
        private final List<DatasetPlan.Image> regCandidates = new ArrayList<>();
        private final List<DatasetPlan.Excluded> excluded = new ArrayList<>();
        private final Set<String> seenSubsets = new HashSet<>();
        private final Map<String, Map<String, Integer>> tagFrequency = new LinkedHashMap<>();
        private final int[] imageCounts;
        private long numTrainImages;
        private long numRegImages;

        Registration(DatasetBlueprint blueprint, BucketSelector selector, List<String> warnings) {
            this.blueprint = blueprint;
            this.selector = selector;
            this.warnings = warnings;
            this.imageCounts = new int[blueprint.subsets().size()];
        }

        void addDreamBoothSubset(int index, SubsetParams subset, DatasetSource source) {
            if (!seenSubsets.add(subset.imageDir())) {
                warnings.add("[" + subset.table() + "] ignore duplicated subset with image_dir='" + subset.imageDir()
                        + "': use the first one");
                return;
            }
            List<ListedImage> listed = new ArrayList<>(source.images(subset.imageDir(), subset.captionExtension()));
            listed.sort(Comparator.comparing(ListedImage::path, Py::compareCodePoints));
            listed = dedupe(listed);
            if (!subset.isReg()) {
                listed = trainingPart(listed);
            }
            List<DatasetPlan.Image> found = new ArrayList<>();
            List<String> missingCaptions = new ArrayList<>();
            for (ListedImage image : listed) {
                BucketChoice choice = bucketOrExclude(image.path(), image.width(), image.height());
                if (choice == null) {
                    continue;
                }
                String caption = image.sidecarText() == null ? null
                        : Captions.fromSidecar(image.sidecarText(), subset.enableWildcard());
                if (caption == null) {
                    missingCaptions.add(image.path());
                    caption = subset.classTokens() != null ? subset.classTokens() : "";
                }
                found.add(new DatasetPlan.Image(image.path(), index, new Size(image.width(), image.height()), choice,
                        caption, subset.numRepeats(), subset.isReg()));
            }
            countTags(ImageFiles.fileName(subset.imageDir()), found.stream().map(DatasetPlan.Image::caption).toList());
            if (found.isEmpty()) {
                warnings.add("[" + subset.table() + "] ignore subset with image_dir='" + subset.imageDir()
                        + "': no images found");
                return;
            }
            warnMissingCaptions(subset, missingCaptions);
            imageCounts[index] = found.size();
            if (subset.isReg()) {
                numRegImages += (long) subset.numRepeats() * found.size();
                regCandidates.addAll(found);
            } else {
                numTrainImages += (long) subset.numRepeats() * found.size();
                found.forEach(img -> images.put(img.path(), img));
            }
        }

        private static List<ListedImage> dedupe(List<ListedImage> sorted) {
            List<ListedImage> out = new ArrayList<>(sorted.size());
            for (ListedImage image : sorted) {
                if (out.isEmpty() || !out.get(out.size() - 1).path().equals(image.path())) {
                    out.add(image);
                }
            }
            return out;
        }

        /**
         * split_train_val for the training dataset: shuffle, then keep the first ceil(n × (1 − validation_split)).
         * The shuffle is seeded with validation_seed (0 when unset; sd-scripts then uses its global RNG), with
         * Java's RNG instead of Python's: the count matches sd-scripts, the chosen images are Kiln's.
         */
        private List<ListedImage> trainingPart(List<ListedImage> images) {
            DatasetParams p = blueprint.params();
            if (p.validationSplit() <= 0 || images.isEmpty()) {
                return images;
            }
            List<ListedImage> shuffled = new ArrayList<>(images);
            java.util.Collections.shuffle(shuffled,
                    new java.util.Random(p.validationSeed() == null ? 0 : p.validationSeed()));
            int keep = (int) Math.max(0, Math.ceil(shuffled.size() * (1 - p.validationSplit())));
            for (ListedImage held : shuffled.subList(keep, shuffled.size())) {
                excluded.add(new DatasetPlan.Excluded(held.path(), "held out for validation (validation_split "
                        + p.validationSplit() + ")"));
            }
            return new ArrayList<>(shuffled.subList(0, keep));
        }

        void addFinetuneSubset(int index, SubsetParams subset, DatasetSource source) {
            if (!seenSubsets.add(subset.metadataFile())) {
                warnings.add("[" + subset.table() + "] ignore duplicated subset with metadata_file='"
                        + subset.metadataFile() + "': use the first one");
                return;
            }
            String text = source.text(subset.metadataFile());
            if (text == null) {
                throw new ConfigException(subset.table(), "metadata_file", "no metadata file: " + subset.metadataFile());
            }
            List<FinetuneMetadata.Entry> entries = new ArrayList<>(FinetuneMetadata.parse(text, subset.metadataFile()));
            if (entries.isEmpty()) {
                warnings.add("[" + subset.table() + "] ignore subset with '" + subset.metadataFile()
                        + "': no image entries found");
                return;
            }
            // sd-scripts registers the keys longest first (a stable sort keeps file order among equal lengths)
            entries.sort(Comparator.comparingInt((FinetuneMetadata.Entry e) -> e.imageKey().length()).reversed());
            for (FinetuneMetadata.Entry entry : entries) {
                String path = entry.imageKey();
                if (!path.startsWith("/")) {
                    if (subset.imageDir() == null) {
                        throw new ConfigException(subset.table(), "image_dir",
                                "image_dir is required when image paths are relative: " + entry.imageKey());
                    }
                    path = LegacyFolders.join(subset.imageDir(), entry.imageKey());
                }
                int[] size = entry.imageSize() != null ? entry.imageSize() : source.imageSize(path);
                int width = size == null ? 0 : size[0];
                int height = size == null ? 0 : size[1];
                BucketChoice choice = bucketOrExclude(path, width, height);
                if (choice == null) {
                    continue;
                }
                String caption = Captions.fromMetadata(entry.caption(), entry.tags(), subset.captionSeparator(),
                        subset.enableWildcard());
                images.put(path, new DatasetPlan.Image(path, index, new Size(width, height), choice, caption,
                        subset.numRepeats(), false));
            }
            // with wildcards the tags were made single-line first; without, empty tags are not counted
            countTags(ImageFiles.fileName(subset.metadataFile()), entries.stream().map(FinetuneMetadata.Entry::tags)
                    .filter(t -> t != null && (subset.enableWildcard() || !t.isEmpty()))
                    .map(t -> subset.enableWildcard() ? t.replace("\n", subset.captionSeparator()) : t).toList());
            imageCounts[index] = entries.size();
            numTrainImages += (long) entries.size() * subset.numRepeats();
        }

        /** BaseDataset.set_tag_frequency: tags split on ",", stripped, lower-cased, counted per caption. */
        private void countTags(String name, List<String> captions) {
            Map<String, Integer> counts = tagFrequency.computeIfAbsent(name, n -> new LinkedHashMap<>());
            for (String caption : captions) {
                for (String tag : Py.split(caption, ",")) {
                    String t = Py.strip(tag);
                    if (!t.isEmpty()) {
                        counts.merge(t.toLowerCase(java.util.Locale.ROOT), 1, Integer::sum);
                    }
                }
            }
        }

        private BucketChoice bucketOrExclude(String path, int width, int height) {
            String name = ImageFiles.fileName(path);
            if (ImageFiles.isHidden(name)) {
                excluded.add(new DatasetPlan.Excluded(path, "hidden file (name starts with \".\")"));
                return null;
            }
            if (width <= 0 || height <= 0) {
                excluded.add(new DatasetPlan.Excluded(path, "image size unknown (unreadable header)"));
                return null;
            }
            BucketChoice choice = selector.select(width, height);
            if (choice == null) {
                excluded.add(new DatasetPlan.Excluded(path, "cannot be bucketed: " + width + "x" + height
                        + " gives a bucket side of 0 with bucket_no_upscale and bucket_reso_steps "
                        + blueprint.params().bucketResoSteps()));
            }
            return choice;
        }

        private void warnMissingCaptions(SubsetParams subset, List<String> missing) {
            if (missing.isEmpty()) {
                return;
            }
            StringBuilder w = new StringBuilder("[" + subset.table() + "] No caption file found for " + missing.size()
                    + " images; " + (subset.classTokens() != null ? "class tokens are used" : "empty captions are used")
                    + ": ");
            w.append(String.join(", ", missing.subList(0, Math.min(MAX_WARNED_MISSING_CAPTIONS, missing.size()))));
            if (missing.size() > MAX_WARNED_MISSING_CAPTIONS) {
                w.append(" ... and ").append(missing.size() - MAX_WARNED_MISSING_CAPTIONS).append(" more");
            }
            warnings.add(w.toString());
        }

        /**
         * DreamBoothDataset's balancing: register regularization images in order with their own repeats until
         * they match the training samples, then add one repeat at a time round-robin.
         */
        void balanceRegularization() {
            if (numRegImages == 0) {
                return;
            }
            if (numTrainImages < numRegImages) {
                warnings.add("[" + blueprint.params().table() + "] some of reg images are not used");
            }
            int[] repeats = new int[regCandidates.size()];
            int registered = 0;
            long n = 0;
            boolean firstLoop = true;
            while (n < numTrainImages) {
                for (int i = 0; i < regCandidates.size(); i++) {
                    if (firstLoop) {
                        repeats[i] = regCandidates.get(i).repeats();
                        registered++;
                        n += repeats[i];
                    } else {
                        repeats[i]++;
                        n++;
                    }
                    if (n >= numTrainImages) {
                        break;
                    }
                }
                firstLoop = false;
            }
            for (int i = 0; i < registered; i++) {
                DatasetPlan.Image img = regCandidates.get(i);
                images.put(img.path(), new DatasetPlan.Image(img.path(), img.subset(), img.size(), img.bucket(),
                        img.caption(), repeats[i], true));
            }
        }

        DatasetPlan.Dataset finish() {
            TreeMap<Size, Long> counts = new TreeMap<>();
            for (DatasetPlan.Image img : images.values()) {
                counts.merge(img.bucket().bucket(), (long) img.repeats(), Long::sum);
            }
            List<DatasetPlan.Bucket> buckets = new ArrayList<>();
            long batches = 0;
            int batchSize = blueprint.params().batchSize();
            for (Map.Entry<Size, Long> e : counts.entrySet()) {
                buckets.add(new DatasetPlan.Bucket(e.getKey(), e.getValue()));
                batches += TrainingLength.ceilDiv(e.getValue(), batchSize);
            }
            List<Integer> countList = new ArrayList<>();
            for (int c : imageCounts) {
                countList.add(c);
            }
            return new DatasetPlan.Dataset(blueprint.params(), blueprint.subsets(), List.copyOf(countList),
                    List.copyOf(images.values()), List.copyOf(buckets), batches, numTrainImages, numRegImages,
                    List.copyOf(excluded), tagFrequency);
        }
    }
}
