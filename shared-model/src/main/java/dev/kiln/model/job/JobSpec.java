package dev.kiln.model.job;

import dev.kiln.model.dataset.DatasetBlueprint;
import dev.kiln.model.dataset.DatasetConfig;
import dev.kiln.model.dataset.DatasetConfigParser;
import dev.kiln.model.dataset.SubsetParams;
import dev.kiln.model.dataset.TrainingLength;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A validated {@code jobs/<job>/job.toml} (ARCHITECTURE §4): the method, the base model, sample prompts, every
 * training argument of the method's trainer (given or default, under sd-scripts' names) and the dataset config.
 *
 * @param name the job id ({@code <job>} in the object layout)
 * @param samplePrompts the prompts when given inline, else empty
 * @param samplePromptsKey the object key (or local path) of a prompts file, or null
 * @param arguments every argument of the method's trainer: Long, Double, Boolean, String, int[2] (resolution),
 *     double[2] (face_crop_aug_range), List (nargs="*"), or null when unset
 * @param givenArguments the names written in job.toml
 * @param captioning the {@code [captioning]} table: tag the images that have no caption file; null when absent
 */
public record JobSpec(String name, Method method, String pretrainedModel, List<String> samplePrompts,
        String samplePromptsKey, Map<String, Object> arguments, Set<String> givenArguments, DatasetConfig dataset,
        CaptioningSettings captioning) {

    /** An argument's value (null when unset). */
    public Object argument(String name) {
        if (!arguments.containsKey(name)) {
            throw new IllegalArgumentException("unknown training argument " + name);
        }
        return arguments.get(name);
    }

    /** An int argument, or {@code otherwise} when unset. */
    public long intArgument(String name, long otherwise) {
        Object v = argument(name);
        return v == null ? otherwise : ((Number) v).longValue();
    }

    /** A float argument, or {@code otherwise} when unset. */
    public double floatArgument(String name, double otherwise) {
        Object v = argument(name);
        return v == null ? otherwise : ((Number) v).doubleValue();
    }

    /** A flag. */
    public boolean flag(String name) {
        return Boolean.TRUE.equals(argument(name));
    }

    /** A string argument, or null. */
    public String stringArgument(String name) {
        return (String) argument(name);
    }

    /** max_train_epochs / max_train_steps / gradient_accumulation_steps. */
    public TrainingLength trainingLength() {
        Object epochs = argument("max_train_epochs");
        return new TrainingLength(epochs == null ? null : Math.toIntExact((Long) epochs),
                intArgument("max_train_steps", 1600), Math.toIntExact(intArgument("gradient_accumulation_steps", 1)));
    }

    /** The dataset rules of this job's trainer. */
    public DatasetConfigParser.Options datasetOptions() {
        return options(method);
    }

    /**
     * The spec as JSON-ready maps (the {@code spec} of {@code kiln.jobs.submitted}): method, base model, prompts,
     * the arguments written in job.toml, the resolved datasets (or the legacy folders to read), and the
     * captioning settings when the job has a {@code [captioning]} table.
     */
    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("job", name);
        m.put("method", method.tomlName());
        m.put("pretrained_model_name_or_path", pretrainedModel);
        m.put("sample_prompts", samplePromptsKey != null ? samplePromptsKey : samplePrompts);
        Map<String, Object> given = new LinkedHashMap<>();
        for (String key : givenArguments) {
            given.put(key, plain(arguments.get(key)));
        }
        m.put("arguments", given);
        if (dataset.isLegacy()) {
            Map<String, Object> legacy = new LinkedHashMap<>();
            for (String key : List.of("train_data_dir", "reg_data_dir", "in_json")) {
                legacy.put(key, arguments.get(key));
            }
            m.put("legacy_dataset", legacy);
        } else {
            List<Object> datasets = new ArrayList<>();
            for (DatasetBlueprint d : dataset.explicitDatasets()) {
                Map<String, Object> dm = new LinkedHashMap<>();
                dm.put("type", d.kind().jsonName());
                dm.put("resolution", List.of(d.params().width(), d.params().height()));
                dm.put("batch_size", d.params().batchSize());
                dm.put("enable_bucket", d.params().enableBucket());
                dm.put("subsets", d.subsets().stream().map(SubsetParams::toJson).toList());
                datasets.add(dm);
            }
            m.put("datasets", datasets);
        }
        if (captioning != null) {
            m.put(CaptioningSettings.TABLE, captioning.toJson());
        }
        return m;
    }

    private static Object plain(Object v) {
        if (v instanceof int[] a) {
            return List.of(a[0], a[1]);
        }
        if (v instanceof double[] a) {
            return List.of(a[0], a[1]);
        }
        return v;
    }

    static DatasetConfigParser.Options options(Method method) {
        return new DatasetConfigParser.Options(method != Method.FINETUNE, method != Method.DREAMBOOTH,
                method != Method.TEXTUAL_INVERSION, 64);
    }
}
