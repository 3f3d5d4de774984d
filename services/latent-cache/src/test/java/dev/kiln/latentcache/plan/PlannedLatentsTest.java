package dev.kiln.latentcache.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.model.events.LatentTask.Target;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PlannedLatentsTest {

    private static String image(String path, int subset, int w, int h, int rw, int rh) {
        return "{\"path\": \"" + path + "\", \"subset\": " + subset + ", \"bucket\": [" + w + ", " + h + "],"
                + " \"resized\": [" + rw + ", " + rh + "]}";
    }

    @Test
    void everyImageAtItsBucketAndFlippedWhereItsSubsetSaysSoEachOnce() {
        String plan = "{\"datasets\": ["
                + "{\"subsets\": [{\"flip_aug\": false}, {\"flip_aug\": true}], \"images\": ["
                + image("datasets/a/1_x/p.png", 0, 64, 64, 64, 80) + ", "
                + image("datasets/a/2_y/q.jpg", 1, 64, 48, 72, 48) + "]},"
                // a second dataset over the same image at the same size adds nothing; at another size it adds one
                + "{\"subsets\": [{\"flip_aug\": false}], \"images\": ["
                + image("datasets/a/1_x/p.png", 0, 64, 64, 64, 80) + ", "
                + image("datasets/a/1_x/p.png", 0, 32, 32, 32, 40) + "]}]}";
        Map<String, List<Target>> out = PlannedLatents.read(plan, "outputs/j/plan.json");
        assertEquals(List.of("datasets/a/1_x/p.png", "datasets/a/2_y/q.jpg"), List.copyOf(out.keySet()));
        assertEquals(List.of(new Target(64, 64, 64, 80, false), new Target(32, 32, 32, 40, false)),
                out.get("datasets/a/1_x/p.png"));
        assertEquals(List.of(new Target(64, 48, 72, 48, false), new Target(64, 48, 72, 48, true)),
                out.get("datasets/a/2_y/q.jpg"));
    }

    @Test
    void aBrokenPlanIsAnErrorNamingThePlaceInIt() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PlannedLatents.read(
                "{\"datasets\": [{\"subsets\": [{}], \"images\": [" + image("../etc/passwd", 0, 8, 8, 8, 8) + "]}]}",
                "outputs/j/plan.json"));
        assertTrue(e.getMessage().startsWith("outputs/j/plan.json: datasets[0].images[0].path"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> PlannedLatents.read(
                "{\"datasets\": [{\"subsets\": [{}], \"images\": [" + image("datasets/a/1_x/p.png", 0, 64, 64, 32, 64)
                        + "]}]}", "outputs/j/plan.json"));
        assertTrue(e.getMessage().contains("datasets[0].images[0]") && e.getMessage().contains("64x64"),
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> PlannedLatents.read("[1]", "outputs/j/plan.json"));
        assertTrue(e.getMessage().contains("'datasets'"), e.getMessage());
    }
}
