package dev.kiln.model.job;

import dev.kiln.model.dataset.ConfigException;
import dev.kiln.model.dataset.DatasetConfig;
import dev.kiln.model.dataset.DatasetConfigParser;
import dev.kiln.model.dataset.ValueType;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.tomlj.TomlArray;
import org.tomlj.TomlParseResult;

/**
 * Reads {@code job.toml}: top-level keys are sd-scripts training arguments of the method's trainer plus
 * {@code method}, {@code sample_prompts}, the inline dataset config ({@code [general]},
 * {@code [[datasets]]}) and the optional {@code [captioning]} table ({@link CaptioningSettings}). Unknown keys, keys of another trainer, wrong types, values outside an option's choices
 * and sd-scripts' invalid combinations (train_util.verify_training_args) are {@link ConfigException}s.
 */
public final class JobSpecParser {
    /** Top-level keys that are not training arguments. */
    private static final Set<String> STRUCTURE = Set.of("method", "sample_prompts", "general", "datasets",
            CaptioningSettings.TABLE);

    /** Arguments that make no sense inside job.toml, with the reason. */
    private static final Map<String, String> REFUSED = Map.of(
            "dataset_config", "write the dataset config inline as [general] and [[datasets]]",
            "config_file", "job.toml is the config file",
            "output_config", "job.toml is the config file");

    private JobSpecParser() {}

    /**
     * Parses a job.toml. Without {@code [[datasets]]}, {@code train_data_dir} or {@code in_json}, the dataset is
     * every {@code <N>_<class>} folder under {@code datasets/<job>/} and {@code datasets/<job>/reg/} (regularization).
     *
     * @param fileName named in syntax errors
     */
    public static JobSpec parse(String tomlText, String fileName, String jobName) {
        TomlParseResult toml = DatasetConfigParser.parseToml(tomlText, fileName);
        Method method = Method.LORA;
        if (toml.contains("method")) {
            Object m = toml.get(List.of("method"));
            method = m instanceof String s ? Method.byName(s) : null;
            if (method == null) {
                throw new ConfigException("", "method", "expected one of " + Method.names() + ", got "
                        + (m instanceof String s ? "\"" + s + "\"" : String.valueOf(m)));
            }
        }
        Map<String, Object> args = defaults(method);
        Set<String> given = new LinkedHashSet<>();
        for (String key : toml.keySet()) {
            if (STRUCTURE.contains(key)) {
                continue;
            }
            Object raw = toml.get(List.of(key));
            if (REFUSED.containsKey(key)) {
                throw new ConfigException("", key, "not allowed in job.toml: " + REFUSED.get(key));
            }
            TrainingArgument arg = TrainingArgument.ALL_ARGUMENTS.get(key);
            if (arg == null) {
                throw new ConfigException("", key, "unknown training argument (sd-scripts has no --" + key + ")");
            }
            if (!arg.appliesTo(method)) {
                throw new ConfigException("", key, "not an argument of the " + method.tomlName() + " trainer");
            }
            if (raw instanceof Boolean && arg.type() != ValueType.BOOL) {
                // the dataset schema's Python quirk (bool is an int) is not extended to training arguments
                throw new ConfigException("", key, "expected " + arg.type().description() + ", got bool " + raw);
            }
            Object value = arg.type().convert(raw, "", key);
            checkChoices(arg, value, method);
            args.put(key, value);
            given.add(key);
        }
        if (given.contains("caption_extention")) { // sd-scripts' misspelled legacy option wins (prepare_dataset_args)
            args.put("caption_extension", args.get("caption_extention"));
        }
        verifyCombinations(args);
        String model = (String) args.get("pretrained_model_name_or_path");
        if (model == null || model.isBlank()) {
            throw new ConfigException("", "pretrained_model_name_or_path", "required: the base model's object key");
        }
        List<String> prompts = List.of();
        String promptsKey = null;
        if (toml.contains("sample_prompts")) {
            Object raw = toml.get(List.of("sample_prompts"));
            if (raw instanceof String s) {
                promptsKey = s;
            } else {
                prompts = stringList(raw);
            }
        }
        args.put("sample_prompts", promptsKey);
        if (!toml.contains("datasets") && method != Method.FINETUNE && args.get("train_data_dir") == null
                && args.get("in_json") == null) {
            args.put("train_data_dir", "datasets/" + jobName);
            if (args.get("reg_data_dir") == null) {
                args.put("reg_data_dir", "datasets/" + jobName + "/reg");
            }
        }
        DatasetConfig dataset = DatasetConfigParser.fromTables(toml, args, JobSpec.options(method));
        CaptioningSettings captioning = toml.contains(CaptioningSettings.TABLE)
                ? CaptioningSettings.parse(toml.get(List.of(CaptioningSettings.TABLE))) : null;
        return new JobSpec(jobName, method, model, prompts, promptsKey, Collections.unmodifiableMap(args),
                Collections.unmodifiableSet(given), dataset, captioning);
    }

    /** The argparse defaults of {@code method}'s trainer. */
    public static Map<String, Object> defaults(Method method) {
        Map<String, Object> args = new LinkedHashMap<>();
        for (TrainingArgument a : TrainingArgument.ALL_ARGUMENTS.values()) {
            if (a.appliesTo(method)) {
                args.put(a.name(), a.defaultValue());
            }
        }
        args.put("save_model_as", method.defaultSaveModelAs());
        return args;
    }

    private static List<String> stringList(Object raw) {
        if (raw instanceof TomlArray a) {
            List<String> out = new ArrayList<>();
            for (int i = 0; i < a.size(); i++) {
                if (!(a.get(i) instanceof String s)) {
                    break;
                }
                out.add(s);
            }
            if (out.size() == a.size()) {
                return List.copyOf(out);
            }
        }
        throw new ConfigException("", "sample_prompts", "expected a list of prompts or the key of a prompts file");
    }

    private static void checkChoices(TrainingArgument arg, Object value, Method method) {
        Set<Object> choices = arg.choices();
        if (arg.name().equals("save_model_as")) {
            choices = method == Method.LORA || method == Method.TEXTUAL_INVERSION
                    ? Set.of("ckpt", "pt", "safetensors")
                    : Set.of("ckpt", "safetensors", "diffusers", "diffusers_safetensors");
        }
        if (!choices.isEmpty() && !choices.contains(value)) {
            throw new ConfigException("", arg.name(), "invalid choice " + describe(value) + "; choose from "
                    + choices.stream().map(JobSpecParser::describe).sorted().toList());
        }
    }

    private static String describe(Object v) {
        return v instanceof String s ? "\"" + s + "\"" : String.valueOf(v);
    }

    /** The argument combinations sd-scripts refuses (train_util.verify_training_args and the dataset options). */
    private static void verifyCombinations(Map<String, Object> args) {
        requireWith(args, "adaptive_noise_scale", args.get("adaptive_noise_scale") != null,
                args.get("noise_offset") != null, "adaptive_noise_scale requires noise_offset");
        requireWith(args, "scale_v_pred_loss_like_noise_pred", isTrue(args, "scale_v_pred_loss_like_noise_pred"),
                isTrue(args, "v_parameterization"), "scale_v_pred_loss_like_noise_pred requires v_parameterization");
        Object vPredLike = args.get("v_pred_like_loss");
        requireWith(args, "v_pred_like_loss", vPredLike != null && ((Number) vPredLike).doubleValue() != 0,
                !isTrue(args, "v_parameterization"), "v_pred_like_loss cannot be used with v_parameterization");
        for (String every : List.of("sample_every_n_epochs", "sample_every_n_steps")) {
            Object v = args.get(every);
            requireWith(args, every, v != null, v == null || (Long) v > 0, every + " must be positive");
        }
        requireWith(args, "full_fp16", isTrue(args, "full_fp16"), "fp16".equals(args.get("mixed_precision")),
                "full_fp16 requires mixed_precision = \"fp16\"");
        requireWith(args, "full_bf16", isTrue(args, "full_bf16"), "bf16".equals(args.get("mixed_precision")),
                "full_bf16 requires mixed_precision = \"bf16\"");
        double[] faceCrop = (double[]) args.get("face_crop_aug_range");
        requireWith(args, "face_crop_aug_range", faceCrop != null, faceCrop == null || faceCrop[0] <= faceCrop[1],
                "face_crop_aug_range must be two floats lo,hi with lo <= hi");
        for (String positive : List.of("train_batch_size", "gradient_accumulation_steps", "max_train_steps")) {
            Object v = args.get(positive);
            requireWith(args, positive, v != null, v == null || (Long) v >= 1, positive + " must be at least 1");
        }
        Object epochs = args.get("max_train_epochs");
        requireWith(args, "max_train_epochs", epochs != null, epochs == null || (Long) epochs >= 1,
                "max_train_epochs must be at least 1");
    }

    private static boolean isTrue(Map<String, Object> args, String key) {
        return Boolean.TRUE.equals(args.get(key));
    }

    private static void requireWith(Map<String, Object> args, String key, boolean applies, boolean ok, String msg) {
        if (applies && !ok) {
            throw new ConfigException("", key, msg);
        }
    }
}
