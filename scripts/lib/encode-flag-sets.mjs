// The pahole flag sets test/fixtures/encode was made with (scripts/gen-encode-fixtures.mjs) and
// test/golden/encode.test.ts replays, in one place so that a set added to the fixtures is tested:
// what a 7.2.13 build passes (gen-btf.sh), what a pahole <= 1.25 tree passes, none, and pahole's
// other ways of naming features.
export const FLAG_SETS = {
  kbuild72: '-j --btf_features=encode_force,var,float,enum64,decl_tag,type_tag,optimized_func,consistent_func,decl_tag_kfuncs --btf_features=attributes --btf_features=layout -j --lang_exclude=rust',
  kbuild125: '-j --btf_gen_floats --skip_encoding_btf_inconsistent_proto --btf_gen_optimized',
  plain: '',
  default: '--btf_features=default',
  plusglobal: '--btf_features=+global_var,nonexistent_feature',
  skips: '--skip_encoding_btf_type_tag --skip_encoding_btf_decl_tag --skip_encoding_btf_enum64 --skip_encoding_btf_vars',
  genall: '--btf_gen_all',
  strict: '--btf_features_strict=var,float,decl_tag_kfuncs,reproducible_build',
};
