"""QGIS styles for plan.gpkg: the symbols, colours and Chinese labels of the
PNG maps, as QML (QGIS's own) and SLD, in the GeoPackage's ``layer_styles``
table with ``useAsDefault``, so QGIS applies them when it opens a layer.

- ``schools``: a symbol per type after the plan (the maps' marker and colour),
  closed schools as grey crosses, each labelled with its name;
- ``assignments``: a line per village, band and school, coloured by band;
- ``catchments``: one rule per band (1-3 shown, 4-6 and 7-9 ticked off in the
  layer panel), each cell filled with its ``colour`` (touching cells differ),
  labelled with its school.
"""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

import pandas as pd

from planner.domain import BANDS, TYPES
from planner.outputs.cartography import CLOSED_COLOUR, SYMBOL
from planner.outputs.labels import BAND_ZH, TYPE_ZH

QGIS_VERSION = "3.22.16-Białowieża"
FONT = "Noto Sans CJK SC"
MARKER = {"^": "triangle", "o": "circle", "s": "square", "D": "diamond"}
MARKER_MM = {"teaching_point": 2.6, "primary": 2.8, "junior": 3.2, "nine_year": 3.2}
BAND_COLOUR = {"g1_3": "#4daf4a", "g4_6": "#377eb8", "g7_9": "#984ea3"}


def _rgba(hex_colour: str, alpha: int = 255) -> str:
    h = hex_colour.lstrip("#")
    return ",".join(str(int(h[i : i + 2], 16)) for i in (0, 2, 4)) + f",{alpha}"


def _options(**values: object) -> str:
    items = "".join(f'<Option type="QString" name="{k}" value={quoteattr(str(v))}/>' for k, v in values.items())
    return f'<Option type="Map">{items}</Option>'


def _marker(name: str, shape: str, colour: str, size_mm: float, outline: str = "#ffffff") -> str:
    opts = _options(
        name=shape, color=_rgba(colour), size=size_mm, size_unit="MM", outline_color=_rgba(outline),
        outline_width=0.25, outline_width_unit="MM", outline_style="solid",
    )  # fmt: skip
    return (
        f'<symbol type="marker" name="{name}" alpha="1" clip_to_extent="1" force_rhr="0">'
        f'<layer class="SimpleMarker" enabled="1" pass="0" locked="0">{opts}</layer></symbol>'
    )


def _line(name: str, colour: str, width_mm: float, alpha: int) -> str:
    opts = _options(line_color=_rgba(colour, alpha), line_width=width_mm, line_width_unit="MM", line_style="solid")
    return (
        f'<symbol type="line" name="{name}" alpha="1" clip_to_extent="1" force_rhr="0">'
        f'<layer class="SimpleLine" enabled="1" pass="0" locked="0">{opts}</layer></symbol>'
    )


def _fill_by_field(name: str, field: str) -> str:
    """A fill whose colour is the feature's ``field`` (a hex colour), half transparent."""
    opts = _options(color="251,180,174,255", outline_color="111,111,111,255", outline_width=0.2,
                    outline_width_unit="MM", style="solid", outline_style="solid")  # fmt: skip
    dd = (
        '<data_defined_properties><Option type="Map"><Option type="QString" name="name" value=""/>'
        '<Option type="Map" name="properties"><Option type="Map" name="fillColor">'
        '<Option type="bool" name="active" value="true"/>'
        f'<Option type="QString" name="field" value="{field}"/><Option type="int" name="type" value="2"/>'
        '</Option></Option><Option type="QString" name="type" value="collection"/></Option>'
        "</data_defined_properties>"
    )
    return (
        f'<symbol type="fill" name="{name}" alpha="0.6" clip_to_extent="1" force_rhr="0">'
        f'<layer class="SimpleFill" enabled="1" pass="0" locked="0">{opts}{dd}</layer></symbol>'
    )


def _labels(field: str, size_pt: float) -> str:
    return (
        '<labeling type="simple"><settings calloutType="simple">'
        f'<text-style fieldName="{field}" isExpression="0" fontFamily="{FONT}" fontSize="{size_pt}" '
        'fontSizeUnit="Point" textColor="30,30,30,255" textOpacity="1" fontWeight="50" namedStyle="Regular">'
        '<text-buffer bufferDraw="1" bufferSize="0.8" bufferSizeUnits="MM" bufferColor="255,255,255,255" '
        'bufferOpacity="1"/></text-style>'
        '<placement placement="0" dist="1.2" distUnits="MM" priority="5"/>'
        '<rendering obstacle="1" scaleVisibility="0" drawLabels="1" displayAll="0" upsidedown="0"/>'
        "</settings></labeling>"
    )


def _qml(renderer: str, labeling: str = "") -> str:
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>"
        f'<qgis version="{QGIS_VERSION}" styleCategories="Symbology|Labeling">{renderer}{labeling}'
        "<blendMode>0</blendMode><featureBlendMode>0</featureBlendMode><layerOpacity>1</layerOpacity></qgis>"
    )


def schools_qml() -> str:
    cats, symbols = [], []
    for i, t in enumerate((*TYPES, "closed")):
        if t == "closed":
            symbols.append(_marker(str(i), "cross2", CLOSED_COLOUR, 2.4, CLOSED_COLOUR))  # a cross is all outline
        else:
            marker, colour, _ = SYMBOL[t]
            symbols.append(_marker(str(i), MARKER[marker], colour, MARKER_MM[t]))
        cats.append(f'<category render="true" symbol="{i}" value="{t}" label={quoteattr(TYPE_ZH[t])}/>')
    renderer = (
        '<renderer-v2 type="categorizedSymbol" attr="type_after" symbollevels="0" enableorderby="0" forceraster="0">'
        f"<categories>{''.join(cats)}</categories><symbols>{''.join(symbols)}</symbols></renderer-v2>"
    )
    return _qml(renderer, _labels("name", 8))


def assignments_qml() -> str:
    cats = "".join(
        f'<category render="true" symbol="{i}" value="{b}" label={quoteattr(BAND_ZH[b] + "就学路线")}/>'
        for i, b in enumerate(BANDS)
    )
    symbols = "".join(_line(str(i), BAND_COLOUR[b], 0.25, 160) for i, b in enumerate(BANDS))
    renderer = (
        '<renderer-v2 type="categorizedSymbol" attr="band" symbollevels="0" enableorderby="0" forceraster="0">'
        f"<categories>{cats}</categories><symbols>{symbols}</symbols></renderer-v2>"
    )
    return _qml(renderer)


def _rule(i: int, band: str) -> str:
    active = "" if i == 0 else ' checkstate="0"'  # one band shown at a time; the others ticked on in QGIS
    filt = quoteattr(f""""band" = '{band}'""")
    return f'<rule key="{band}" symbol="{i}" filter={filt} label={quoteattr(BAND_ZH[band] + "服务范围")}{active}/>'


def catchments_qml() -> str:
    rules = "".join(_rule(i, b) for i, b in enumerate(BANDS))
    symbols = "".join(_fill_by_field(str(i), "colour") for i in range(len(BANDS)))
    renderer = (
        '<renderer-v2 type="RuleRenderer" symbollevels="0" enableorderby="0" forceraster="0">'
        f'<rules key="root">{rules}</rules><symbols>{symbols}</symbols></renderer-v2>'
    )
    return _qml(renderer, _labels("name", 7))


QML = {"schools": schools_qml, "assignments": assignments_qml, "catchments": catchments_qml}


def _sld_rule(title: str, filt: str, symbolizer: str) -> str:
    return (
        f"<se:Rule><se:Name>{title}</se:Name><se:Description><se:Title>{title}</se:Title></se:Description>"
        f"{filt}{symbolizer}</se:Rule>"
    )


def _is(field: str, value: str) -> str:
    return (
        '<ogc:Filter xmlns:ogc="http://www.opengis.net/ogc"><ogc:PropertyIsEqualTo>'
        f"<ogc:PropertyName>{field}</ogc:PropertyName><ogc:Literal>{value}</ogc:Literal>"
        "</ogc:PropertyIsEqualTo></ogc:Filter>"
    )


def _css(name: str, value: object) -> str:
    return f'<se:SvgParameter name="{name}">{value}</se:SvgParameter>'


def _sld(layer: str, rules: list[str]) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<StyledLayerDescriptor xmlns="http://www.opengis.net/sld" xmlns:se="http://www.opengis.net/se" '
        'xmlns:ogc="http://www.opengis.net/ogc" version="1.1.0">'
        f"<NamedLayer><se:Name>{layer}</se:Name><UserStyle><se:Name>{layer}</se:Name>"
        f"<se:FeatureTypeStyle>{''.join(rules)}</se:FeatureTypeStyle></UserStyle></NamedLayer>"
        "</StyledLayerDescriptor>"
    )


def sld(layer: str) -> str:
    """The same style in SLD 1.1 (for GeoServer and other readers)."""
    rules = []
    if layer == "schools":
        for t in (*TYPES, "closed"):
            shape, colour, size = ("x", CLOSED_COLOUR, 2.4) if t == "closed" else (
                MARKER[SYMBOL[t][0]], SYMBOL[t][1], MARKER_MM[t])  # fmt: skip
            mark = (
                f"<se:PointSymbolizer><se:Graphic><se:Mark><se:WellKnownName>{shape}</se:WellKnownName>"
                f"<se:Fill>{_css('fill', colour)}</se:Fill></se:Mark><se:Size>{size * 3.78:.0f}</se:Size>"
                "</se:Graphic></se:PointSymbolizer>"
            )
            label = (
                "<se:TextSymbolizer><se:Label><ogc:PropertyName>name</ogc:PropertyName></se:Label>"
                f"<se:Font>{_css('font-family', FONT)}{_css('font-size', 11)}</se:Font></se:TextSymbolizer>"
            )
            rules.append(_sld_rule(TYPE_ZH[t], _is("type_after", t), mark + label))
    else:
        for b in BANDS:
            if layer == "assignments":
                sym = f"<se:LineSymbolizer><se:Stroke>{_css('stroke', BAND_COLOUR[b])}</se:Stroke></se:LineSymbolizer>"
                title = BAND_ZH[b] + "就学路线"
            else:
                sym = (
                    "<se:PolygonSymbolizer><se:Fill>"
                    f"{_css('fill', '#fbb4ae')}{_css('fill-opacity', 0.6)}</se:Fill>"
                    f"<se:Stroke>{_css('stroke', '#6f6f6f')}</se:Stroke></se:PolygonSymbolizer>"
                )
                title = BAND_ZH[b] + "服务范围"
            rules.append(_sld_rule(title, _is("band", b), sym))
    return _sld(layer, rules)


def styles_table(geometry_column: str) -> pd.DataFrame:
    """The rows of the GeoPackage's ``layer_styles`` table (QGIS's layout), one default style a layer."""
    return pd.DataFrame(
        [
            {
                "f_table_catalog": "",
                "f_table_schema": "",
                "f_table_name": layer,
                "f_geometry_column": geometry_column,
                "styleName": f"{layer} (planner)",
                "styleQML": make(),
                "styleSLD": sld(layer),
                "useAsDefault": True,
                "description": "规划图样式（与 PNG 图件一致）",
                "owner": "planner",
                "ui": "",
                "update_time": "2030-01-01T00:00:00",
            }
            for layer, make in QML.items()
        ]
    )
