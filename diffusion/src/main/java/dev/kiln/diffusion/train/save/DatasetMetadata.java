package dev.kiln.diffusion.train.save;

import dev.kiln.model.dataset.DatasetKind;
import dev.kiln.model.dataset.DatasetParams;
import dev.kiln.model.dataset.DatasetPlan;
import dev.kiln.model.dataset.ImageFiles;
import dev.kiln.model.dataset.SubsetParams;
import dev.kiln.model.job.JobSpec;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The dataset part of train_network.py's metadata, from a {@link DatasetPlan}: with a dataset config
 * ({@code [[datasets]]} in job.toml) {@code ss_datasets}, {@code ss_tag_frequency} and {@code ss_dataset_dirs};
 * with legacy {@code train_data_dir}/{@code in_json} datasets the flat {@code ss_batch_size_per_device} ...
 * {@code ss_bucket_info} keys. A subset sd-scripts skipped (no images, num_repeats < 1, duplicated) is not in its
 * dataset's subset list, so it is left out here too: those are the plan's subsets with an image count of 0.
 */
final class DatasetMetadata {
    private static final String HELD_OUT = "held out for validation";

    private DatasetMetadata() {}

    /** The keys train_network.py writes when a dataset config is used. */
    static Map<String, String> forConfig(DatasetPlan plan) {
        List<Object> datasets = new ArrayList<>();
        Map<String, Object> tagFrequency = new LinkedHashMap<>();
        Map<String, Object> dirs = new LinkedHashMap<>();
        for (DatasetPlan.Dataset d : plan.datasets()) {
            DatasetParams p = d.params();
            boolean dreamBooth = p.kind() == DatasetKind.DREAMBOOTH;
            Map<String, Object> dm = new LinkedHashMap<>();
            dm.put("is_dreambooth", dreamBooth);
            dm.put("batch_size_per_device", p.batchSize());
            dm.put("num_train_images", d.numTrainImages());
            dm.put("num_reg_images", d.numRegImages());
            dm.put("resolution", new int[] {p.width(), p.height()});
            dm.put("enable_bucket", p.enableBucket());
            dm.put("min_bucket_reso", p.enableBucket() ? p.minBucketReso() : null);
            dm.put("max_bucket_reso", p.enableBucket() ? p.maxBucketReso() : null);
            dm.put("tag_frequency", d.tagFrequency());
            dm.put("bucket_info", bucketInfo(d));
            dm.put("resize_interpolation", p.resizeInterpolation());
            List<Object> subsets = new ArrayList<>();
            for (int i = 0; i < d.subsets().size(); i++) {
                int imgCount = d.subsetImageCounts().get(i);
                if (imgCount == 0) {
                    continue;
                }
                SubsetParams s = d.subsets().get(i);
                Map<String, Object> sm = new LinkedHashMap<>();
                sm.put("img_count", imgCount);
                sm.put("num_repeats", s.numRepeats());
                sm.put("color_aug", s.colorAug());
                sm.put("flip_aug", s.flipAug());
                sm.put("random_crop", s.randomCrop());
                sm.put("shuffle_caption", s.shuffleCaption());
                sm.put("keep_tokens", s.keepTokens());
                sm.put("keep_tokens_separator", s.keepTokensSeparator());
                sm.put("secondary_separator", s.secondarySeparator());
                sm.put("enable_wildcard", s.enableWildcard());
                sm.put("caption_prefix", s.captionPrefix());
                sm.put("caption_suffix", s.captionSuffix());
                sm.put("resize_interpolation", s.resizeInterpolation());
                String dirName = null;
                if (s.imageDir() != null && !s.imageDir().isEmpty()) {
                    sm.put("image_dir", ImageFiles.fileName(s.imageDir()));
                    dirName = ImageFiles.fileName(s.imageDir());
                }
                if (dreamBooth) {
                    sm.put("class_tokens", s.classTokens());
                    sm.put("is_reg", s.isReg());
                    if (s.isReg()) {
                        dirName = null; // regularization folders are not merged into ss_dataset_dirs
                    }
                } else {
                    dirName = ImageFiles.fileName(s.metadataFile());
                    sm.put("metadata_file", dirName);
                }
                subsets.add(sm);
                if (dirName != null) {
                    // the same folder in several subsets or datasets: "name (2)", "name (3)", ...
                    String unique = dirName;
                    for (int n = 2; dirs.containsKey(unique); n++) {
                        unique = dirName + " (" + n + ")";
                    }
                    dirs.put(unique, dirInfo(s.numRepeats(), imgCount));
                }
            }
            dm.put("subsets", subsets);
            datasets.add(dm);
            // a folder used by several datasets is counted once, from the first
            d.tagFrequency().forEach(tagFrequency::putIfAbsent);
        }
        Map<String, String> out = new LinkedHashMap<>();
        out.put("ss_datasets", PyStr.json(datasets));
        out.put("ss_tag_frequency", PyStr.json(tagFrequency));
        out.put("ss_dataset_dirs", PyStr.json(dirs));
        return out;
    }

    /** The keys train_network.py writes for legacy command-line datasets (one dataset). */
    static Map<String, String> forLegacy(JobSpec job, DatasetPlan plan) {
        if (plan.datasets().size() != 1) {
            throw new IllegalArgumentException("legacy train_data_dir / in_json datasets make exactly one dataset, the"
                    + " plan has " + plan.datasets().size());
        }
        DatasetPlan.Dataset d = plan.datasets().get(0);
        DatasetParams p = d.params();
        boolean dreamBooth = job.argument("in_json") == null;
        Map<String, Object> dirs = new LinkedHashMap<>();
        Map<String, Object> regDirs = new LinkedHashMap<>();
        for (int i = 0; i < d.subsets().size(); i++) {
            int imgCount = d.subsetImageCounts().get(i);
            if (imgCount == 0) {
                continue;
            }
            SubsetParams s = d.subsets().get(i);
            if (dreamBooth) {
                (s.isReg() ? regDirs : dirs).put(ImageFiles.fileName(s.imageDir()), dirInfo(s.numRepeats(), imgCount));
            } else {
                dirs.put(ImageFiles.fileName(s.metadataFile()), dirInfo(s.numRepeats(), imgCount));
            }
        }
        long totalBatch = job.intArgument("train_batch_size", 1) * job.intArgument("gradient_accumulation_steps", 1);
        Map<String, String> out = new LinkedHashMap<>();
        out.put("ss_batch_size_per_device", PyStr.str(job.argument("train_batch_size")));
        out.put("ss_total_batch_size", PyStr.str(totalBatch)); // × 1 process
        out.put("ss_resolution", PyStr.str(job.argument("resolution")));
        out.put("ss_color_aug", PyStr.str(job.flag("color_aug")));
        out.put("ss_flip_aug", PyStr.str(job.flag("flip_aug")));
        out.put("ss_random_crop", PyStr.str(job.flag("random_crop")));
        out.put("ss_shuffle_caption", PyStr.str(job.flag("shuffle_caption")));
        out.put("ss_enable_bucket", PyStr.str(p.enableBucket()));
        out.put("ss_bucket_no_upscale", PyStr.str(p.enableBucket() && p.bucketNoUpscale()));
        out.put("ss_min_bucket_reso", PyStr.str(p.enableBucket() ? p.minBucketReso() : null));
        out.put("ss_max_bucket_reso", PyStr.str(p.enableBucket() ? p.maxBucketReso() : null));
        out.put("ss_keep_tokens", PyStr.str(job.argument("keep_tokens")));
        out.put("ss_dataset_dirs", PyStr.json(dirs));
        out.put("ss_reg_dataset_dirs", PyStr.json(regDirs));
        out.put("ss_tag_frequency", PyStr.json(d.tagFrequency()));
        out.put("ss_bucket_info", PyStr.json(bucketInfo(d)));
        return out;
    }

    private static Map<String, Object> dirInfo(int repeats, int imgCount) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("n_repeats", repeats);
        m.put("img_count", imgCount);
        return m;
    }

    /**
     * BaseDataset.bucket_info: null without bucketing; else the non-empty buckets in resolution order, keyed by
     * their index ("0", "1", ...), with [w, h] and the count including repeats, and the mean |aspect-ratio error|
     * over the registered images (no repeats), summed as numpy does; the integer 0 without images.
     */
    static Map<String, Object> bucketInfo(DatasetPlan.Dataset d) {
        if (!d.params().enableBucket()) {
            return null;
        }
        Map<String, Object> buckets = new LinkedHashMap<>();
        for (int i = 0; i < d.buckets().size(); i++) {
            DatasetPlan.Bucket b = d.buckets().get(i);
            Map<String, Object> bm = new LinkedHashMap<>();
            bm.put("resolution", new int[] {b.reso().width(), b.reso().height()});
            bm.put("count", b.count());
            buckets.put(Integer.toString(i), bm);
        }
        Map<String, Object> info = new LinkedHashMap<>();
        info.put("buckets", buckets);
        double[] errors = d.images().stream().mapToDouble(img -> Math.abs(img.bucket().arError())).toArray();
        info.put("mean_img_ar_error", errors.length == 0 ? (Object) 0L : NumpySum.pairwise(errors) / errors.length);
        return info;
    }

    /**
     * ss_num_validation_images: the images of the validation datasets sd-scripts builds for datasets with
     * 0 < validation_split <= 1. A DreamBooth one holds round(n × split) images (split_train_val, Python's round half
     * to even) of each training subset of n images, each once (its num_repeats is 1); a fine-tuning one is not split
     * and holds all its images with their repeats. The held-out images of a subset are the plan's excluded "held out
     * for validation" files in its folder (a subset the plan skipped for num_repeats < 1 has none listed, so it adds
     * nothing here, where sd-scripts would count it).
     */
    static long validationImages(DatasetPlan plan) {
        long total = 0;
        for (DatasetPlan.Dataset d : plan.datasets()) {
            double split = d.params().validationSplit();
            if (!(split > 0 && split <= 1)) {
                continue;
            }
            if (d.params().kind() != DatasetKind.DREAMBOOTH) {
                total += d.numTrainImages();
                continue;
            }
            Set<String> seen = new HashSet<>();
            for (int i = 0; i < d.subsets().size(); i++) {
                SubsetParams s = d.subsets().get(i);
                if (s.isReg() || !seen.add(s.imageDir())) {
                    continue;
                }
                long heldOut = d.excluded().stream()
                        .filter(e -> e.reason().startsWith(HELD_OUT) && parent(e.path()).equals(s.imageDir()))
                        .count();
                long n = d.subsetImageCounts().get(i) + heldOut;
                total += (long) Math.rint(n * split);
            }
        }
        return total;
    }

    private static String parent(String path) {
        int slash = path.lastIndexOf('/');
        return slash < 0 ? "" : path.substring(0, slash);
    }
}
