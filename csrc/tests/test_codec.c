/* C unit tests of the cell codec, the frame codec and the layout hash. */
#include "ff_codec.h"
#include "ff_frame.h"
#include "ff_ids.h"
#include "ff_layout.h"
#include "ff_test.h"

FF_TEST(cell_round_trip_and_saturation) {
    uint32_t c = 0, t, a, e, b;
    FF_CHECK_EQ(ff_encode_cell(3, 5000, 2, 1, &c), FF_OK);
    FF_CHECK_EQ(c, 0x3FFF2001u);
    FF_CHECK_EQ(ff_decode_cell(c, &t, &a, &e, &b), FF_OK);
    FF_CHECK_EQ(t, 3); FF_CHECK_EQ(a, 4095); FF_CHECK_EQ(e, 2); FF_CHECK_EQ(b, 1);
    FF_CHECK_EQ(ff_encode_cell(16, 0, 0, 0, &c), FF_ERANGE);
    FF_CHECK_EQ(ff_encode_cell(0, 0, 16, 0, &c), FF_ERANGE);
    FF_CHECK_EQ(ff_encode_cell(0, 4096, 0, 0, &c), FF_OK); /* the seed's & 0xFFF would give 0 */
    FF_CHECK_EQ(c >> 16, 4095);
    FF_CHECK_EQ(ff_decode_cell(0x2u, &t, &a, &e, &b), FF_ERANGE); /* reserved bit */
}

FF_TEST(bulk_matches_scalar_and_reports_bad_index) {
    uint8_t tile[300], ent[300], blk[300];
    uint32_t amt[300], out[300];
    for (int i = 0; i < 300; i++) {
        tile[i] = (uint8_t)(i % 16); ent[i] = (uint8_t)((i * 7) % 16);
        blk[i] = (uint8_t)(i % 3); amt[i] = (uint32_t)(i * 37);
    }
    size_t bad = 0;
    FF_CHECK_EQ(ff_encode_cells_u32(tile, amt, ent, blk, out, 300, &bad), FF_OK);
    for (int i = 0; i < 300; i++) {
        uint32_t one;
        ff_encode_cell(tile[i], amt[i], ent[i], blk[i], &one);
        FF_CHECK_EQ(out[i], one);
    }
    uint8_t t2[300], e2[300], b2[300];
    uint16_t a2[300];
    FF_CHECK_EQ(ff_decode_cells(out, t2, a2, e2, b2, 300, &bad), FF_OK);
    for (int i = 0; i < 300; i++) {
        FF_CHECK_EQ(t2[i], tile[i]);
        FF_CHECK_EQ(a2[i], amt[i] > 4095 ? 4095 : amt[i]);
    }
    ent[123] = 200;
    FF_CHECK_EQ(ff_encode_cells_u32(tile, amt, ent, blk, out, 300, &bad), FF_ERANGE);
    FF_CHECK_EQ(bad, 123);
}

FF_TEST(planes_hwc_and_chw_agree) {
    uint32_t cells[2 * 3 * 4];
    for (int i = 0; i < 24; i++) ff_encode_cell((uint32_t)(i % 16), (uint32_t)(i * 200), (uint32_t)(i % 9), i & 1, &cells[i]);
    uint8_t hwc[24 * 8], chw[24 * 8];
    FF_CHECK_EQ(ff_unpack_planes(cells, 2, 3, 4, hwc, 0), FF_OK);
    FF_CHECK_EQ(ff_unpack_planes(cells, 2, 3, 4, chw, 1), FF_OK);
    for (int m = 0; m < 2; m++)
        for (int i = 0; i < 12; i++)
            for (int ch = 0; ch < 8; ch++)
                FF_CHECK_EQ(hwc[(m * 12 + i) * 8 + ch], chw[m * 96 + ch * 12 + i]);
    FF_CHECK_EQ(hwc[5 * 8 + FF_PLANE_AMOUNT], ff_amount_to_plane(1000));
    FF_CHECK_EQ(ff_amount_to_plane(4095), 255);
    FF_CHECK_EQ(ff_amount_to_plane(0), 0);
}

FF_TEST(frame_round_trip_and_rejections) {
    uint8_t buf[16 + 96];
    memset(buf, 0, sizeof buf);
    FF_CHECK_EQ(ff_frame_write_header(buf, FF_FRAME_ACTIONS, 96, 42), FF_OK);
    ff_frame_header_t h;
    const uint8_t *p = NULL;
    FF_CHECK_EQ(ff_frame_decode(buf, sizeof buf, 1 << 20, &h, &p), FF_OK);
    FF_CHECK_EQ(h.sequence, 42); FF_CHECK_EQ(h.length, 96); FF_CHECK(p == buf + 16);
    FF_CHECK_EQ(ff_frame_decode(buf, sizeof buf - 1, 1 << 20, &h, &p), FF_ETRUNC);
    FF_CHECK_EQ(ff_frame_decode(buf, 10, 1 << 20, &h, &p), FF_ETRUNC);
    FF_CHECK_EQ(ff_frame_decode(buf, sizeof buf, 95, &h, &p), FF_ETOOBIG);
    buf[0] ^= 1;
    FF_CHECK_EQ(ff_frame_decode(buf, sizeof buf, 1 << 20, &h, &p), FF_EMAGIC);
    buf[0] ^= 1; buf[2] = 2;
    FF_CHECK_EQ(ff_frame_decode(buf, sizeof buf, 1 << 20, &h, &p), FF_EVERSION);
    buf[2] = 1; buf[3] = 9;
    FF_CHECK_EQ(ff_frame_decode(buf, sizeof buf, 1 << 20, &h, &p), FF_ETYPE);
    FF_CHECK_EQ(ff_frame_write_header(buf, FF_FRAME_ACTIONS, 95, 0), FF_OK);
    FF_CHECK_EQ(ff_frame_decode(buf, 16 + 95, 1 << 20, &h, &p), FF_ELENGTH);
    FF_CHECK_EQ(ff_frame_decode(NULL, 0, 1 << 20, &h, &p), FF_ETRUNC);
}

FF_TEST(tables_are_consistent) {
    FF_CHECK_EQ(FF_NUM_TILES, 16);
    FF_CHECK(strcmp(ff_tile_table[FF_TILE_WATER].name, "water") == 0);
    FF_CHECK(ff_tile_table[FF_TILE_WATER].blocks_character);
    FF_CHECK(strcmp(ff_entity_table[FF_ENT_IRON_ORE].name, "iron-ore") == 0);
    FF_CHECK(strcmp(ff_entity_table[FF_ENT_BURNER_DRILL].name, "burner-mining-drill") == 0);
    FF_CHECK(strcmp(ff_item_table[FF_ITEM_GEAR].name, "iron-gear-wheel") == 0);
    FF_CHECK(ff_layout_hash() == ff_layout_hash());
}

int main(void) {
    FF_RUN(cell_round_trip_and_saturation);
    FF_RUN(bulk_matches_scalar_and_reports_bad_index);
    FF_RUN(planes_hwc_and_chw_agree);
    FF_RUN(frame_round_trip_and_rejections);
    FF_RUN(tables_are_consistent);
    return FF_TEST_SUMMARY();
}
