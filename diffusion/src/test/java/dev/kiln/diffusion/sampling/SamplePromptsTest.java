package dev.kiln.diffusion.sampling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SamplePromptsTest {

    @TempDir
    Path dir;

    @Test
    void parsesTheDocumentedExample() {
        SamplePrompt p = SamplePrompts.parseLine(
                "a cat, best quality --n low quality, worst quality --w 768 --h 512 --d 1 --l 7.5 --s 28");
        assertEquals("a cat, best quality", p.prompt());
        assertEquals("low quality, worst quality", p.negativePrompt());
        assertEquals(768, p.width());
        assertEquals(512, p.height());
        assertEquals(1L, p.seed());
        assertEquals(7.5f, p.scale());
        assertEquals(28, p.steps());
        assertNull(p.sampler());
    }

    @Test
    void aPromptWrittenAsALineReadsBackTheSame() {
        for (SamplePrompt p : List.of(
                SamplePrompts.parseLine("a cat, best quality --n low quality, worst quality --w 768 --h 512 --d 1 --l 7.5 --s 28"),
                SamplePrompts.parseLine("x --ss euler_a --l 3.25"),
                SamplePrompt.of("only a prompt"),
                new SamplePrompt("p", "n", 64, 72, 4294967295L, 1000, 12f, "dpmsolver++"))) {
            assertEquals(p, SamplePrompts.parseLine(p.toLine()), p.toLine());
        }
    }

    @Test
    void defaultsAreThoseOfSdScripts() {
        SamplePrompt p = SamplePrompts.parseLine("masterpiece, a dog");
        assertEquals(SamplePrompt.of("masterpiece, a dog"), p);
        assertEquals(512, p.width());
        assertEquals(30, p.steps());
        assertEquals(7.5f, p.scale());
        assertNull(p.seed());
        assertNull(p.negativePrompt());
    }

    @Test
    void optionsAreCaseInsensitiveStepsClampedAndSamplerRead() {
        SamplePrompt p = SamplePrompts.parseLine("x --S 5000 --SS k_euler_a --W 100 --H 70");
        assertEquals(1000, p.steps());
        assertEquals("k_euler_a", p.sampler());
        assertEquals(96, p.generatedWidth(), "rounded down to a multiple of 8");
        assertEquals(64, p.generatedHeight(), "at least 64");
        assertEquals(1, SamplePrompts.parseLine("x --s 0").steps());
    }

    @Test
    void unknownOptionsAndBadValuesAreIgnoredLikeSdScripts() {
        SamplePrompt p = SamplePrompts.parseLine("x --foo bar --l 1.2.3 --cn control.png --w 640 --l nope");
        assertEquals("x", p.prompt());
        assertEquals(7.5f, p.scale(), "an unparsable scale keeps the default");
        assertEquals(640, p.width());
        // " --" is the separator: a double dash without the space stays in the prompt
        assertEquals("a--b", SamplePrompts.parseLine("a--b --w 64").prompt());
    }

    @Test
    void thePromptPieceIsMatchedToo() {
        // sd-scripts runs the option patterns over piece 0 as well
        SamplePrompt p = SamplePrompts.parseLine("w 640 wide landscape --h 384");
        assertEquals("w 640 wide landscape", p.prompt());
        assertEquals(640, p.width());
        assertEquals(384, p.height());
    }

    @Test
    void readsTxtAndJsonPromptFiles() throws Exception {
        Path txt = dir.resolve("prompts.txt");
        Files.writeString(txt, "# comment\n\na cat --d 3\n  # indented comment is a prompt\r\nsecond --s 12\n");
        List<SamplePrompt> fromTxt = SamplePrompts.read(txt);
        assertEquals(3, fromTxt.size());
        assertEquals(3L, fromTxt.get(0).seed());
        assertEquals("# indented comment is a prompt", fromTxt.get(1).prompt());
        assertEquals(12, fromTxt.get(2).steps());

        Path json = dir.resolve("prompts.json");
        Files.writeString(json, "[\"a cat --w 768\", {\"prompt\": \"a dog\", \"negative_prompt\": \"blurry\","
                + " \"width\": 640, \"seed\": 9, \"sample_steps\": 20, \"scale\": 5, \"sample_sampler\": \"euler\"}]");
        List<SamplePrompt> fromJson = SamplePrompts.read(json);
        assertEquals(768, fromJson.get(0).width());
        assertEquals(new SamplePrompt("a dog", "blurry", 640, 512, 9L, 20, 5f, "euler"), fromJson.get(1));

        Path bad = dir.resolve("bad.json");
        Files.writeString(bad, "[{\"prompt\": \"a\", \"width\": \"wide\"}]");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SamplePrompts.read(bad));
        assertTrue(e.getMessage().contains("bad.json") && e.getMessage().contains("width"), e.getMessage());
        Path yaml = dir.resolve("prompts.yaml");
        Files.writeString(yaml, "x");
        assertThrows(IllegalArgumentException.class, () -> SamplePrompts.read(yaml));
    }

    @Test
    void readsTomlPromptFilesWithSharedKeys() throws Exception {
        // the layout of sd-scripts' documentation
        Path toml = dir.resolve("prompts.toml");
        Files.writeString(toml, String.join("\n",
                "[prompt]",
                "negative_prompt = \"lowres, bad anatomy\"",
                "width = 768",
                "height = 640",
                "scale = 7",
                "sample_steps = 28",
                "",
                "[[prompt.subset]]",
                "prompt = \"1girl, looking at viewer\"",
                "",
                "[[prompt.subset]]",
                "prompt = \"1boy, outdoors\"",
                "seed = 42",
                "sample_sampler = \"k_euler_a\"",
                ""));
        List<SamplePrompt> prompts = SamplePrompts.read(toml);
        assertEquals(List.of(
                new SamplePrompt("1girl, looking at viewer", "lowres, bad anatomy", 768, 640, null, 28, 7f, null),
                new SamplePrompt("1boy, outdoors", "lowres, bad anatomy", 768, 640, 42L, 28, 7f, "k_euler_a")),
                prompts);
        Path broken = dir.resolve("broken.toml");
        Files.writeString(broken, "[prompt]\nwidth = \n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SamplePrompts.read(broken));
        assertTrue(e.getMessage().contains("broken.toml"), e.getMessage());
    }
}
