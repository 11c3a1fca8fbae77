# pysaml2 attribute map for the eIDAS attribute names (NameFormat uri), used by saml_idp.py.
_NP = "http://eidas.europa.eu/attributes/naturalperson/"
_LP = "http://eidas.europa.eu/attributes/legalperson/"

MAP = {
    "identifier": "urn:oasis:names:tc:SAML:2.0:attrname-format:uri",
    "fro": {
        _NP + "PersonIdentifier": "PersonIdentifier",
        _NP + "CurrentFamilyName": "CurrentFamilyName",
        _NP + "CurrentGivenName": "CurrentGivenName",
        _NP + "DateOfBirth": "DateOfBirth",
        _LP + "LegalPersonIdentifier": "LegalPersonIdentifier",
        _LP + "LegalName": "LegalName",
    },
    "to": {
        "PersonIdentifier": _NP + "PersonIdentifier",
        "CurrentFamilyName": _NP + "CurrentFamilyName",
        "CurrentGivenName": _NP + "CurrentGivenName",
        "DateOfBirth": _NP + "DateOfBirth",
        "LegalPersonIdentifier": _LP + "LegalPersonIdentifier",
        "LegalName": _LP + "LegalName",
    },
}
