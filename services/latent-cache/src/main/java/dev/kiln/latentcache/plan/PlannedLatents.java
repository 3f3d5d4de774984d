package dev.kiln.latentcache.plan;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.model.events.LatentTask;
import dev.kiln.model.json.Json;
import dev.kiln.model.keys.ObjectKeys;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What latents a plan ({@code outputs/<job>/plan.json}, {@code PlanJson}) needs: every image ({@code path} = object
 * key) at its {@code bucket} after resizing to {@code resized}, and flipped as well where its subset has
 * {@code flip_aug} (sd-scripts caches both orientations), each (image, size, flip) once.
 */
public final class PlannedLatents {

    private PlannedLatents() {
    }

    /** The targets of each image key, in plan order. */
    public static Map<String, List<LatentTask.Target>> read(String planJson, String planKey) {
        JsonNode root;
        try {
            root = Json.read(planJson, JsonNode.class);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(planKey + " is not valid JSON: " + e.getMessage(), e);
        }
        JsonNode datasets = root.path("datasets");
        if (!datasets.isArray()) {
            throw new IllegalArgumentException(planKey + ": 'datasets' is missing or not a list");
        }
        Map<String, Set<LatentTask.Target>> out = new LinkedHashMap<>();
        for (int d = 0; d < datasets.size(); d++) {
            JsonNode dataset = datasets.get(d);
            JsonNode subsets = dataset.path("subsets");
            JsonNode images = dataset.path("images");
            for (int i = 0; i < images.size(); i++) {
                JsonNode image = images.get(i);
                String where = planKey + ": datasets[" + d + "].images[" + i + "]";
                String key = image.path("path").asText(null);
                if (key == null || ObjectKeys.problem(key) != null) {
                    throw new IllegalArgumentException(where + ".path: not a usable object key: " + key);
                }
                int[] bucket = size(image.path("bucket"), where + ".bucket");
                int[] resized = size(image.path("resized"), where + ".resized");
                JsonNode subset = subsets.path(image.path("subset").asInt(-1));
                if (subset.isMissingNode()) {
                    throw new IllegalArgumentException(where + ".subset: no such subset in datasets[" + d + "]");
                }
                boolean flipAug = subset.path("flip_aug").asBoolean(false);
                Set<LatentTask.Target> targets = out.computeIfAbsent(key, k -> new LinkedHashSet<>());
                try {
                    targets.add(new LatentTask.Target(bucket[0], bucket[1], resized[0], resized[1], false));
                    if (flipAug) {
                        targets.add(new LatentTask.Target(bucket[0], bucket[1], resized[0], resized[1], true));
                    }
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException(where + ": " + e.getMessage(), e);
                }
            }
        }
        Map<String, List<LatentTask.Target>> lists = new LinkedHashMap<>();
        out.forEach((k, v) -> lists.put(k, new ArrayList<>(v)));
        return lists;
    }

    private static int[] size(JsonNode node, String where) {
        if (!node.isArray() || node.size() != 2 || !node.get(0).isInt() || !node.get(1).isInt()
                || node.get(0).asInt() <= 0 || node.get(1).asInt() <= 0) {
            throw new IllegalArgumentException(where + ": expected [width, height], got " + node);
        }
        return new int[] {node.get(0).asInt(), node.get(1).asInt()};
    }
}
