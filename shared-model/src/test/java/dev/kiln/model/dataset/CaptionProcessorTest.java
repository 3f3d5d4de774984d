package dev.kiln.model.dataset;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Caption processing (train_util.py BaseDataset.process_caption): the deterministic cases are compared with
 * the output of sd-scripts' own function (generate_expected.py); the random operations are checked as
 * properties over many seeded random captions.
 */
class CaptionProcessorTest {
    private static final int CASES = 500;

    /** Subset parameters with sd-scripts' defaults and the given caption options. */
    static SubsetParams subset(Map<String, Object> o) {
        return new SubsetParams(DatasetKind.DREAMBOOTH, "s", "dir", null, false, null, ".txt", false, false, 1,
                (Boolean) o.getOrDefault("shuffle_caption", false),
                (String) o.getOrDefault("caption_separator", ","),
                ((Number) o.getOrDefault("keep_tokens", 0)).intValue(),
                (String) o.getOrDefault("keep_tokens_separator", ""),
                (String) o.get("secondary_separator"),
                (Boolean) o.getOrDefault("enable_wildcard", false), false, false, null, false,
                (String) o.get("caption_prefix"), (String) o.get("caption_suffix"),
                ((Number) o.getOrDefault("caption_dropout_rate", 0.0)).doubleValue(),
                ((Number) o.getOrDefault("caption_dropout_every_n_epochs", 0)).intValue(),
                ((Number) o.getOrDefault("caption_tag_dropout_rate", 0.0)).doubleValue(),
                ((Number) o.getOrDefault("token_warmup_min", 1)).intValue(),
                ((Number) o.getOrDefault("token_warmup_step", 0)).doubleValue(), Map.of(), null);
    }

    private static String process(SubsetParams s, String caption, SplittableRandom random) {
        return CaptionProcessor.process(s, caption, new CaptionProcessor.Progress(1, 0, 1000), random, Map.of());
    }

    @Test
    void deterministicCasesMatchSdScripts() throws Exception {
        JsonNode cases = BucketingTest.expected().get("captions");
        assertTrue(cases.size() >= 15);
        for (JsonNode c : cases) {
            @SuppressWarnings("unchecked")
            Map<String, Object> options = new com.fasterxml.jackson.databind.ObjectMapper()
                    .convertValue(c.get("options"), Map.class);
            String got = CaptionProcessor.process(subset(options), c.get("caption").asText(),
                    new CaptionProcessor.Progress(c.get("epoch").asInt(), c.get("step").asLong(),
                            c.get("max_train_steps").asLong()), new SplittableRandom(1), Map.of());
            assertEquals(c.get("expected").asText(), got, c.get("name").asText());
        }
    }

    @Test
    void textualInversionReplacements() {
        // kohya-behaviour.md §3.2: hoge -> "hoge hoge1 hoge2"
        String out = CaptionProcessor.process(subset(Map.of()), "a photo of hoge",
                new CaptionProcessor.Progress(1, 0, 10), new SplittableRandom(1),
                Map.of("hoge", List.of("hoge hoge1 hoge2")));
        assertEquals("a photo of hoge hoge1 hoge2", out);
    }

    /** A random caption of 1..12 distinct tags. */
    private static List<String> randomTags(SplittableRandom r) {
        int n = 1 + r.nextInt(12);
        List<String> tags = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            tags.add("tag" + i + (r.nextBoolean() ? " word" : ""));
        }
        return tags;
    }

    @Test
    void shuffleKeepsTheTagsAndTheFirstKeepTokens() {
        SplittableRandom gen = new SplittableRandom(42);
        int changedOrder = 0;
        for (int i = 0; i < CASES; i++) {
            List<String> tags = randomTags(gen);
            int keep = gen.nextInt(4);
            SubsetParams s = subset(Map.of("shuffle_caption", true, "keep_tokens", keep));
            List<String> out = List.of(process(s, String.join(", ", tags), new SplittableRandom(i)).split(", "));
            List<String> sortedIn = new ArrayList<>(tags);
            List<String> sortedOut = new ArrayList<>(out);
            Collections.sort(sortedIn);
            Collections.sort(sortedOut);
            assertEquals(sortedIn, sortedOut, "same multiset of tags");
            int fixed = Math.min(keep, tags.size());
            assertEquals(tags.subList(0, fixed), out.subList(0, fixed), "first keep_tokens stay in place");
            changedOrder += out.equals(tags) ? 0 : 1;
        }
        assertTrue(changedOrder > CASES / 2, "shuffling does reorder: " + changedOrder);
    }

    @Test
    void keepTokensSeparatorFixesPrefixAndSuffixParts() {
        SplittableRandom gen = new SplittableRandom(3);
        for (int i = 0; i < CASES; i++) {
            List<String> head = randomTags(gen);
            List<String> middle = randomTags(gen).stream().map(t -> "m" + t).toList();
            List<String> tail = randomTags(gen).stream().map(t -> "t" + t).toList();
            String caption = String.join(", ", head) + " ||| " + String.join(", ", middle) + " ||| "
                    + String.join(", ", tail);
            SubsetParams s = subset(Map.of("shuffle_caption", true, "keep_tokens_separator", "|||",
                    "caption_tag_dropout_rate", 0.3, "keep_tokens", 1));
            List<String> out = List.of(process(s, caption, new SplittableRandom(i)).split(", "));
            assertEquals(head, out.subList(0, head.size()), "fixed part first, in order");
            assertEquals(tail, out.subList(out.size() - tail.size(), out.size()), "fixed suffix last, in order");
            List<String> flexOut = out.subList(head.size(), out.size() - tail.size());
            assertTrue(middle.containsAll(flexOut), "only flex tokens move or drop");
            assertEquals(flexOut.size(), new HashSet<>(flexOut).size(), "no token duplicated");
        }
    }

    @Test
    void tagDropoutRatesZeroAndOne() {
        SplittableRandom gen = new SplittableRandom(5);
        for (int i = 0; i < CASES; i++) {
            List<String> tags = randomTags(gen);
            String caption = String.join(", ", tags);
            int keep = gen.nextInt(3);
            String none = process(subset(Map.of("caption_tag_dropout_rate", 1.0, "keep_tokens", keep)), caption,
                    new SplittableRandom(i));
            assertEquals(String.join(", ", tags.subList(0, Math.min(keep, tags.size()))), none,
                    "rate 1 drops every flex tag, keeps the fixed ones");
            // a tiny positive rate turns token processing on but keeps (almost surely) every tag, in order
            String kept = process(subset(Map.of("caption_tag_dropout_rate", 1e-12)), caption, new SplittableRandom(i));
            assertEquals(caption, kept);
        }
    }

    @Test
    void tagDropoutKeepsASubsequence() {
        SplittableRandom gen = new SplittableRandom(11);
        long dropped = 0;
        long total = 0;
        for (int i = 0; i < CASES; i++) {
            List<String> tags = randomTags(gen);
            String out = process(subset(Map.of("caption_tag_dropout_rate", 0.25)), String.join(", ", tags),
                    new SplittableRandom(i));
            List<String> kept = out.isEmpty() ? List.of() : List.of(out.split(", "));
            int at = 0;
            for (String k : kept) {
                at = tags.subList(at, tags.size()).indexOf(k) + at + 1;
                assertTrue(at > 0, "kept tags appear in their original order");
            }
            dropped += tags.size() - kept.size();
            total += tags.size();
        }
        double rate = (double) dropped / total;
        assertTrue(rate > 0.2 && rate < 0.3, "observed drop rate " + rate);
    }

    @Test
    void captionDropout() {
        SplittableRandom gen = new SplittableRandom(9);
        int droppedAtHalf = 0;
        for (int i = 0; i < CASES; i++) {
            String caption = String.join(", ", randomTags(gen));
            assertEquals("", process(subset(Map.of("caption_dropout_rate", 1.0)), caption, new SplittableRandom(i)));
            assertEquals(caption, process(subset(Map.of("caption_dropout_rate", 0.0)), caption, new SplittableRandom(i)));
            droppedAtHalf += process(subset(Map.of("caption_dropout_rate", 0.5)), caption,
                    new SplittableRandom(i)).isEmpty() ? 1 : 0;
        }
        assertTrue(droppedAtHalf > CASES * 0.4 && droppedAtHalf < CASES * 0.6, "rate 0.5 drops about half");
        SubsetParams everyThird = subset(Map.of("caption_dropout_every_n_epochs", 3));
        for (int epoch = 1; epoch <= 9; epoch++) {
            String out = CaptionProcessor.process(everyThird, "a, b", new CaptionProcessor.Progress(epoch, 0, 10),
                    new SplittableRandom(1), Map.of());
            assertEquals(epoch % 3 == 0 ? "" : "a, b", out, "epoch " + epoch);
        }
    }

    @Test
    void wildcardsPickOneAlternative() {
        SubsetParams s = subset(Map.of("enable_wildcard", true));
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 200; i++) {
            String out = process(s, "1girl, {simple|white} background, {{retro}}\nsecond {a|b}", new SplittableRandom(i));
            assertTrue(Set.of("1girl, simple background, {retro}", "1girl, white background, {retro}", "second a",
                    "second b").contains(out), out);
            seen.add(out);
        }
        assertEquals(4, seen.size(), "every line and alternative occurs");
    }

    @Test
    void sameSeedSameCaption() {
        SubsetParams s = subset(Map.of("shuffle_caption", true, "caption_tag_dropout_rate", 0.2));
        String caption = "a, b, c, d, e, f, g, h";
        assertEquals(process(s, caption, new SplittableRandom(77)), process(s, caption, new SplittableRandom(77)));
        assertNotEquals(process(s, caption, new SplittableRandom(1)), process(s, caption, new SplittableRandom(2)));
    }

    @Test
    void docsSeparatorExampleKeepsPrefixAndSuffixFixed() {
        // docs/config_README-en.md: caption_prefix "... |||" and caption_suffix "... ||| ..." stay in place,
        // secondary_separator ";;;" keeps sky;;;cloud;;;day together and turns it into sky,cloud,day
        SubsetParams s = DatasetConfigParser.parseDatasetConfig(DatasetConfigParserTest.resource(
                "docs-example-separators.toml"), "d.toml", Map.of(), DatasetConfigParser.Options.SD)
                .explicitDatasets().get(0).subsets().get(0);
        Set<String> flex = Set.of("upper body", "looking at viewer", "sky,cloud,day", "outdoors", "anime screencap");
        for (int i = 0; i < CASES; i++) {
            String out = process(s, "upper body, looking at viewer, sky;;;cloud;;;day, outdoors", new SplittableRandom(i));
            assertTrue(out.startsWith("1girl, hatsune miku, vocaloid, "), out);
            assertTrue(out.endsWith(", masterpiece, rating: general"), out);
            String middle = out.substring("1girl, hatsune miku, vocaloid, ".length(),
                    out.length() - ", masterpiece, rating: general".length());
            // tags are re-joined with ", " and the grouped tag holds plain commas
            for (String tag : middle.replace("sky,cloud,day", "SKY").split(", ")) {
                assertTrue(flex.contains(tag.equals("SKY") ? "sky,cloud,day" : tag), tag + " in " + out);
            }
        }
    }
}
