package dev.kiln.model.dataset;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The JSON form of a {@link DatasetPlan} ({@code kiln plan --json}, {@code outputs/<job>/plan.json}):
 * {@code {"datasets":[{"type","resolution","batch_size",...,"subsets","images","buckets"}],"steps_per_epoch",
 * "total_steps"}} with sd-scripts' parameter names.
 */
public final class PlanJson {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private PlanJson() {}

    /** The plan as JSON text (indented). */
    public static String write(DatasetPlan plan) {
        try {
            return JSON.writeValueAsString(toMap(plan));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("plan is not serializable", e);
        }
    }

    /** The plan as nested maps and lists. */
    public static Map<String, Object> toMap(DatasetPlan plan) {
        Map<String, Object> root = new LinkedHashMap<>();
        List<Object> datasets = new ArrayList<>();
        for (DatasetPlan.Dataset d : plan.datasets()) {
            datasets.add(dataset(d));
        }
        root.put("datasets", datasets);
        root.put("batches_per_epoch", plan.batchesPerEpoch());
        root.put("steps_per_epoch", plan.stepsPerEpoch());
        root.put("total_steps", plan.totalSteps());
        root.put("epochs", plan.epochs());
        root.put("warnings", plan.warnings());
        return root;
    }

    private static Map<String, Object> dataset(DatasetPlan.Dataset d) {
        DatasetParams p = d.params();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("type", p.kind().jsonName());
        m.put("resolution", List.of(p.width(), p.height()));
        m.put("batch_size", p.batchSize());
        m.put("enable_bucket", p.enableBucket());
        m.put("min_bucket_reso", p.minBucketReso());
        m.put("max_bucket_reso", p.maxBucketReso());
        m.put("bucket_reso_steps", p.bucketResoSteps());
        m.put("bucket_no_upscale", p.bucketNoUpscale());
        m.put("network_multiplier", p.networkMultiplier());
        m.put("validation_seed", p.validationSeed());
        m.put("validation_split", p.validationSplit());
        m.put("resize_interpolation", p.resizeInterpolation());
        List<Object> subsets = new ArrayList<>();
        for (int i = 0; i < d.subsets().size(); i++) {
            Map<String, Object> s = d.subsets().get(i).toJson();
            s.put("image_count", d.subsetImageCounts().get(i));
            subsets.add(s);
        }
        m.put("subsets", subsets);
        List<Object> images = new ArrayList<>(d.images().size());
        for (DatasetPlan.Image img : d.images()) {
            Map<String, Object> im = new LinkedHashMap<>();
            im.put("path", img.path());
            im.put("subset", img.subset());
            im.put("size", size(img.size()));
            im.put("bucket", size(img.bucket().bucket()));
            im.put("resized", size(img.bucket().resized()));
            im.put("caption", img.caption());
            im.put("repeats", img.repeats());
            im.put("is_reg", img.isReg());
            images.add(im);
        }
        m.put("images", images);
        List<Object> buckets = new ArrayList<>();
        for (DatasetPlan.Bucket b : d.buckets()) {
            Map<String, Object> bm = new LinkedHashMap<>();
            bm.put("reso", size(b.reso()));
            bm.put("count", b.count());
            buckets.add(bm);
        }
        m.put("buckets", buckets);
        m.put("batches", d.batches());
        m.put("num_train_images", d.numTrainImages());
        m.put("num_reg_images", d.numRegImages());
        List<Object> excluded = new ArrayList<>();
        for (DatasetPlan.Excluded e : d.excluded()) {
            Map<String, Object> em = new LinkedHashMap<>();
            em.put("path", e.path());
            em.put("reason", e.reason());
            excluded.add(em);
        }
        m.put("excluded", excluded);
        m.put("tag_frequency", d.tagFrequency());
        return m;
    }

    private static List<Integer> size(Size s) {
        return List.of(s.width(), s.height());
    }
}
