package dev.kiln.model.dataset;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * kohya's folder naming: {@code <N>_<class tokens>} below {@code train_data_dir}
 * (config_util.generate_dreambooth_subsets_config_by_subdirs).
 */
public final class LegacyFolders {
    private LegacyFolders() {}

    /** A folder name read with kohya's rules: {@code repeats} and {@code classTokens}, or null when ignored. */
    public record FolderName(int repeats, String classTokens) {}

    /**
     * Parses a folder name: split on "_", the first piece must be an integer (Python {@code int()}, so
     * surrounding whitespace and a sign are allowed) giving the repeats, the rest re-joined with "_" gives
     * the class tokens ({@code "10_sks dog"} -> 10, "sks dog"; {@code "3"} -> 3, ""). Returns null for a
     * name without repeats or with repeats below 1, which sd-scripts skips.
     */
    public static FolderName parse(String name) {
        int underscore = name.indexOf('_');
        String first = underscore < 0 ? name : name.substring(0, underscore);
        int repeats;
        try {
            repeats = Integer.parseInt(Py.strip(first));
        } catch (NumberFormatException e) {
            return null;
        }
        if (repeats < 1) {
            return null;
        }
        return new FolderName(repeats, underscore < 0 ? "" : name.substring(underscore + 1));
    }

    /**
     * The generated subset tables for the folders below {@code baseDir} (sorted by name for a stable order);
     * {@code skipDir} (may be null) is left out silently.
     */
    static List<Map<String, Object>> subsets(String baseDir, boolean isReg, String skipDir, DatasetSource source,
            List<String> warnings) {
        List<Map<String, Object>> out = new ArrayList<>();
        if (baseDir == null) {
            return out;
        }
        List<String> names = new ArrayList<>(source.subdirectories(baseDir));
        names.sort(Py::compareCodePoints);
        for (String name : names) {
            if (join(baseDir, name).equals(skipDir)) {
                continue; // the regularization folder inside the training folder (Kiln's datasets/<job>/reg)
            }
            FolderName folder = parse(name);
            if (folder == null) {
                warnings.add("ignore directory without repeats: " + join(baseDir, name));
                continue;
            }
            Map<String, Object> subset = new LinkedHashMap<>();
            subset.put("image_dir", join(baseDir, name));
            subset.put("num_repeats", (long) folder.repeats());
            subset.put("is_reg", isReg);
            subset.put("class_tokens", folder.classTokens());
            out.add(subset);
        }
        return out;
    }

    /** Joins a directory and a name with "/" (object keys and local paths relative to the root alike). */
    static String join(String dir, String name) {
        if (dir.isEmpty()) {
            return name;
        }
        return dir.endsWith("/") ? dir + name : dir + "/" + name;
    }
}
