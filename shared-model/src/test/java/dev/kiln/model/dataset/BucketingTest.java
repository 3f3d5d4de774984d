package dev.kiln.model.dataset;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Bucket lists, bucket selection, resize and crop geometry against values produced by sd-scripts' own
 * make_bucket_resolutions (library/model_util.py) and BucketManager.select_bucket / get_crop_ltrb
 * (library/train_util.py), run unchanged by src/test/resources/dataset/generate_expected.py.
 */
class BucketingTest {
    static JsonNode expected() throws Exception {
        return new ObjectMapper().readTree(DatasetConfigParserTest.resource("expected.json"));
    }

    private static DatasetParams params(JsonNode c, boolean enableBucket, boolean noUpscale) {
        return new DatasetParams(DatasetKind.DREAMBOOTH, "datasets[0]", c.get("resolution").get(0).asInt(),
                c.get("resolution").get(1).asInt(), 1, enableBucket, c.get("min").asInt(), c.get("max").asInt(),
                c.get("steps").asInt(), noUpscale, 1.0, null, 0.0, null);
    }

    @Test
    void predefinedBucketListsMatchSdScripts() throws Exception {
        for (JsonNode c : expected().get("bucket_lists")) {
            List<Size> want = new ArrayList<>();
            c.get("buckets").forEach(b -> want.add(new Size(b.get(0).asInt(), b.get(1).asInt())));
            List<Size> got = BucketResolutions.make(c.get("resolution").get(0).asInt(),
                    c.get("resolution").get(1).asInt(), c.get("min").asInt(), c.get("max").asInt(), c.get("steps").asInt());
            assertEquals(want, got, "buckets for " + c);
        }
    }

    @Test
    void documentedBucketCountsHold() {
        // kohya-behaviour.md §4.1: 17 buckets for 512², 19 for 768², 41 for 1024² up to 2048
        assertEquals(17, BucketResolutions.make(512, 512, 256, 1024, 64).size());
        assertEquals(19, BucketResolutions.make(768, 768, 256, 1024, 64).size());
        assertEquals(41, BucketResolutions.make(1024, 1024, 256, 2048, 64).size());
    }

    @Test
    void selectionResizeAndArErrorMatchSdScripts() throws Exception {
        int checked = 0;
        for (JsonNode c : expected().get("selections")) {
            BucketSelector selector = BucketSelector.forDataset(params(c, true, c.get("no_upscale").asBoolean()));
            BucketChoice choice = selector.select(c.get("size").get(0).asInt(), c.get("size").get(1).asInt());
            String what = c.toString();
            if (c.get("bucket").isNull()) {
                assertNull(choice, "sd-scripts cannot bucket " + what);
                continue;
            }
            assertNotNull(choice, what);
            assertEquals(new Size(c.get("bucket").get(0).asInt(), c.get("bucket").get(1).asInt()), choice.bucket(), what);
            assertEquals(new Size(c.get("resized").get(0).asInt(), c.get("resized").get(1).asInt()), choice.resized(),
                    what);
            // same IEEE operations in the same order: equal to the last bit
            assertEquals(c.get("ar_error").asDouble(), choice.arError(), 0.0, what);
            double[] ltrb = CropGeometry.cropLtrb(choice.bucket(), new Size(c.get("size").get(0).asInt(),
                    c.get("size").get(1).asInt()));
            for (int i = 0; i < 4; i++) {
                assertEquals(c.get("crop_ltrb").get(i).asDouble(), ltrb[i], 0.0, what);
            }
            checked++;
        }
        assertTrue(checked > 90, "most reference selections are bucketable: " + checked);
    }

    @Test
    void withoutBucketingEveryImageCoversTheResolution() {
        DatasetParams p = new DatasetParams(DatasetKind.DREAMBOOTH, "d", 512, 512, 1, false, 256, 1024, 64, false,
                1.0, null, 0.0, null);
        BucketChoice c = BucketSelector.forDataset(p).select(1920, 1080);
        assertEquals(new Size(512, 512), c.bucket());
        assertEquals(new Size(910, 512), c.resized(), "scaled to cover: height matches, width int(1920·512/1080+0.5)");
    }

    @Test
    void cropIsCenteredUnlessRandom() {
        // kohya-behaviour.md §4.5: 640x480 -> resized 597x448 in bucket 576x448, centre left = (597-576)//2 = 10
        BucketChoice c = new BucketChoice(new Size(576, 448), new Size(597, 448), 0);
        assertEquals(new CropGeometry.Crop(10, 0, false), CropGeometry.center(c));
        SplittableRandom random = new SplittableRandom(7);
        boolean sawOtherThanCenter = false;
        int flips = 0;
        for (int i = 0; i < 2000; i++) {
            CropGeometry.Crop crop = CropGeometry.sample(c, true, true, random);
            assertTrue(crop.left() >= 0 && crop.left() <= 21, "randint(0, trim) is inclusive: " + crop.left());
            assertEquals(0, crop.top(), "no trim in y");
            sawOtherThanCenter |= crop.left() != 10;
            flips += crop.flip() ? 1 : 0;
        }
        assertTrue(sawOtherThanCenter);
        assertTrue(flips > 800 && flips < 1200, "about half the samples are flipped: " + flips);
        assertEquals(new CropGeometry.Crop(10, 0, false), CropGeometry.sample(c, false, false, random));
    }

    @Test
    void cropLtrbOfTheDocumentedTable() {
        // kohya-behaviour.md §4.5 row 1234x567 -> bucket 704x320: (3, 0, 699.437, 320)
        double[] ltrb = CropGeometry.cropLtrb(new Size(704, 320), new Size(1234, 567));
        assertArrayEquals(new double[] {3, 0, 699.437, 320}, new double[] {ltrb[0], ltrb[1],
                Math.round(ltrb[2] * 1000) / 1000.0, ltrb[3]});
    }
}
